using SparkAnomaly.Data;
using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Training;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Spark;

/// <summary>
/// What the Spark adapter does, minus Spark: one broadcast bundle per round, each task selecting its
/// request, rows arriving as unordered flat columns (a grouped-map batch), results collected with a
/// duplicate (a retried or speculative task). The model must equal the local cluster's.
/// </summary>
public sealed class SparkPayloadPathTests
{
    private sealed class SparkLikeCluster : ITrainingCluster
    {
        private readonly (string[] Ids, long[] Ts, float[][] Channels, bool[] Trainable)[] _groups;
        private readonly int _windowLength;
        private readonly int _stride;

        public SparkLikeCluster((string[], long[], float[][], bool[])[] groups, int windowLength, int stride)
        {
            _groups = groups;
            _windowLength = windowLength;
            _stride = stride;
        }

        public int Workers => _groups.Length;

        public IReadOnlyList<TaskOutcome> RunRound(int round, IReadOnlyList<WorkerTask> tasks, CancellationToken cancellationToken)
        {
            byte[] bundle = RoundBundle.Pack(tasks);
            var outcomes = new List<TaskOutcome>();
            foreach (var task in tasks.Reverse())   // completion order differs from task order
            {
                var g = _groups[task.Worker];
                var shard = ShardData.FromColumns(g.Ids, g.Ts, g.Channels, g.Trainable, _windowLength, _stride);
                byte[] result = TrainingWorker.Run(RoundBundle.Select(bundle, task.Worker), shard, cancellationToken);
                outcomes.Add(new TaskOutcome(task.Worker, result, null));
                if (task.Worker == 0)
                {
                    outcomes.Add(new TaskOutcome(task.Worker, result, null));   // the duplicate must be ignored
                }
            }
            return outcomes;
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public void SparkPayloadPath_SameSeedAndShards_SameModelAsLocalCluster_DuplicateIgnored()
    {
        var config = TrainingFixtures.Tiny(workers: 2, rounds: 3);
        var data = TrainingFixtures.SmallData(healthy: 4);
        var normalised = Normaliser.Fit(data).Apply(data);
        var byId = normalised.Series.OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
        var plan = ShardPlanner.Plan(byId.Select(s => (s.Id, (long)Enumerable.Range(0, s.Length).Count(s.IsTrainable))).ToList(), 2, config.WindowLength, config.Stride);

        var localShards = Enumerable.Range(0, 2)
            .Select(w => ShardData.FromSeries(byId.Where(s => plan.WorkerOfSeries[s.Id] == w).ToList(), config.WindowLength, config.Stride))
            .ToArray();
        var model = config.ModelFor(data.Channels);
        TrainingOutcome local;
        using (var cluster = new LocalCluster(localShards))
        {
            local = new ParameterAveragingMaster(config, model, cluster, localShards.Select(s => (long)s.WindowCount).ToArray()).Run();
        }

        var rng = new Random(3);
        var groups = Enumerable.Range(0, 2).Select(w =>
        {
            var rows = byId.Where(s => plan.WorkerOfSeries[s.Id] == w)
                .SelectMany(s => Enumerable.Range(0, s.Length).Select(r => (s, r)))
                .OrderBy(_ => rng.Next())   // Spark gives no row order
                .ToArray();
            return (rows.Select(x => x.s.Id).ToArray(), rows.Select(x => x.s.Timestamps[x.r]).ToArray(),
                Enumerable.Range(0, data.Channels).Select(c => rows.Select(x => x.s.Values[x.r * data.Channels + c]).ToArray()).ToArray(),
                rows.Select(x => x.s.IsTrainable(x.r)).ToArray());
        }).ToArray();
        TrainingOutcome spark;
        using (var cluster = new SparkLikeCluster(groups, config.WindowLength, config.Stride))
        {
            spark = new ParameterAveragingMaster(config, model, cluster, localShards.Select(s => (long)s.WindowCount).ToArray()).Run();
        }

        Assert.Equal(local.State.Parameters, spark.State.Parameters);
        Assert.Equal(config.Rounds, spark.Rounds.Sum(r => r.DuplicatesIgnored));
    }

    [Fact]
    public void ScoringWorker_OnNormalisedRows_EqualsLocalScorer()
    {
        var data = TrainingFixtures.SmallData();
        var run = Detector.Train(data, TrainingFixtures.Tiny(rounds: 2) with { CheckpointEvery = 0 });
        var local = Detector.Score(run.Model, data, out _);
        var normalised = run.Model.Normaliser.Apply(data);
        var rows = normalised.Series.SelectMany(s => Enumerable.Range(0, s.Length).Select(r => (s, r))).Reverse().ToArray();
        var shard = ShardData.FromColumns(rows.Select(x => x.s.Id).ToArray(), rows.Select(x => x.s.Timestamps[x.r]).ToArray(),
            Enumerable.Range(0, data.Channels).Select(c => rows.Select(x => x.s.Values[x.r * data.Channels + c]).ToArray()).ToArray(),
            null, run.Model.Model.WindowLength, 1);

        var scored = ScoringWorker.Score(run.Model.ToBytes(), shard);

        var expected = local.OrderBy(s => s.Series.Id, StringComparer.Ordinal).SelectMany(s => s.Score).ToArray();
        Assert.Equal(expected, scored.Score);
        Assert.Equal(expected.Length, scored.Contributions.Length);
        Assert.All(scored.Threshold, t => Assert.Equal(run.Model.Threshold.Value, t));
        Assert.Same(ScoringWorker.Model(run.Model.ToBytes()), ScoringWorker.Model(run.Model.ToBytes()));
    }

    [Fact]
    public void SparkThresholdPath_ReconstructionProbability_SameResidualVarianceAndThresholdAsLocal()
    {
        // TrainJob's threshold step: score the trainable rows with unit variance, average each channel's contribution
        // (a Spark aggregate), fit the variance, score again, fit the threshold on those scores.
        var data = TrainingFixtures.SmallData();
        var config = TrainingFixtures.Tiny(rounds: 2) with { CheckpointEvery = 0, ScoreRule = ScoreRule.ReconstructionProbability };
        var local = Detector.Train(data, config).Model;
        var assembled = local.WithThreshold(new ThresholdInfo(config.Threshold, 0, 0, config.ScoreRule.ToString()));
        var (shard, trainable) = ScoringShard(local, data);
        double[][] TrainingRows(ScoredRows scored, Func<int, double[]> pick) => Enumerable.Range(0, scored.Score.Length)
            .Where(k => trainable.Contains((scored.SeriesIds[k], scored.Timestamps[k]))).Select(pick).ToArray();

        Assert.True(Detector.NeedsResidualVariance(assembled));
        var unit = ScoringWorker.Score(assembled.ToBytes(), shard);
        var contributions = TrainingRows(unit, k => unit.Contributions[k]);
        var means = Enumerable.Range(0, data.Channels).Select(c => contributions.Average(x => x[c])).ToArray();
        var withVariance = Detector.WithResidualVariance(assembled, means);
        var rescored = ScoringWorker.Score(withVariance.ToBytes(), shard);
        var threshold = Detector.ThresholdFromScores(withVariance, config, TrainingRows(rescored, k => new[] { rescored.Score[k] }).Select(x => x[0]).ToArray());

        for (int c = 0; c < data.Channels; c++)
        {
            Assert.Equal(local.Threshold.ChannelVariance![c], threshold.ChannelVariance![c], 9);
        }
        Assert.Equal(local.Threshold.Value, threshold.Value, 6);
        Assert.Equal(local.Threshold.FittedOnSteps, threshold.FittedOnSteps);
    }

    [Fact]
    public void SparkThresholdPath_PerSeries_SameThresholdsAsLocal()
    {
        // TrainJob with thresholdScope per-series: the trainable rows' scores are collected with their series ids.
        var data = TrainingFixtures.SmallData();
        var config = TrainingFixtures.Tiny(rounds: 2) with { CheckpointEvery = 0, ThresholdScope = ThresholdScope.PerSeries };
        var local = Detector.Train(data, config).Model;
        var (shard, trainable) = ScoringShard(local, data);
        var scored = ScoringWorker.Score(local.ToBytes(), shard);
        var rows = Enumerable.Range(0, scored.Score.Length).Where(k => trainable.Contains((scored.SeriesIds[k], scored.Timestamps[k]))).ToArray();

        var threshold = Detector.ThresholdFromScores(local, config, rows.Select(k => scored.Score[k]).ToArray(), rows.Select(k => scored.SeriesIds[k]).ToArray());

        Assert.Equal(data.Series.Count(s => Enumerable.Range(0, s.Length).Any(s.IsTrainable)), local.Threshold.PerSeries!.Count);
        Assert.Equal(local.Threshold.PerSeries.Keys.Order(), threshold.PerSeries!.Keys.Order());
        foreach (var (id, value) in local.Threshold.PerSeries)
        {
            Assert.Equal(value, threshold.PerSeries[id], 9);
        }
        Assert.Equal(local.Threshold.Value, threshold.Value, 9);
        Assert.True(local.Threshold.PerSeries.Values.Distinct().Count() > 1);
        var e = Assert.Throws<SparkAnomalyException>(() => Detector.ThresholdFromScores(local, config, rows.Select(k => scored.Score[k]).ToArray()));
        Assert.Contains("pass the series of every score", e.Message);
        var ids = rows.Select(k => scored.SeriesIds[k]).ToArray();
        ids[5] = null!;
        Assert.Contains("training score 5 has no series id", Assert.Throws<SparkAnomalyException>(() => Detector.ThresholdFromScores(local, config, rows.Select(k => scored.Score[k]).ToArray(), ids)).Message);
        // Rows in another order (as another engine run returns them): the same thresholds, stored in the same order.
        var reversed = Detector.ThresholdFromScores(local, config, rows.Reverse().Select(k => scored.Score[k]).ToArray(), rows.Reverse().Select(k => scored.SeriesIds[k]).ToArray());
        Assert.Equal(threshold.PerSeries.Keys, reversed.PerSeries!.Keys);
        Assert.Equal(threshold.PerSeries.Keys.Order(StringComparer.Ordinal), threshold.PerSeries.Keys);
    }

    [Fact]
    public void SparkThresholdPath_CalibrationRows_SameThresholdAsLocal()
    {
        // TrainJob with calibrationRows: threshold_row marks each series' last N trainable rows (row_number over ts
        // descending), the rows left out of training; the threshold is fitted on their scores.
        const int calibration = 40;
        var data = TrainingFixtures.SmallData();
        var config = TrainingFixtures.Tiny(rounds: 2) with { CheckpointEvery = 0, CalibrationRows = calibration };
        var local = Detector.Train(data, config).Model;
        var (shard, _) = ScoringShard(local, data);
        var thresholdRows = data.Series.SelectMany(s => Enumerable.Range(0, s.Length).Where(s.IsTrainable).Reverse().Take(calibration).Select(r => (s.Id, s.Timestamps[r]))).ToHashSet();
        var scored = ScoringWorker.Score(local.ToBytes(), shard);

        var threshold = Detector.ThresholdFromScores(local, config,
            Enumerable.Range(0, scored.Score.Length).Where(k => thresholdRows.Contains((scored.SeriesIds[k], scored.Timestamps[k]))).Select(k => scored.Score[k]).ToArray());

        Assert.Equal(local.Threshold.Value, threshold.Value, 9);
        Assert.Equal(local.Threshold.Method, threshold.Method);
        Assert.Contains("held out", threshold.Method);
        Assert.Equal(local.Threshold.FittedOnSteps, threshold.FittedOnSteps);
    }

    /// <summary>The model's normalised rows of <paramref name="data"/> as one unordered scoring group, and which rows are trainable.</summary>
    private static (ShardData Shard, HashSet<(string, long)> Trainable) ScoringShard(TrainedModel model, SeriesSet data)
    {
        var normalised = model.Normaliser.Apply(data);
        var rows = normalised.Series.SelectMany(s => Enumerable.Range(0, s.Length).Select(r => (s, r))).Reverse().ToArray();
        var shard = ShardData.FromColumns(rows.Select(x => x.s.Id).ToArray(), rows.Select(x => x.s.Timestamps[x.r]).ToArray(),
            Enumerable.Range(0, data.Channels).Select(c => rows.Select(x => x.s.Values[x.r * data.Channels + c]).ToArray()).ToArray(),
            null, model.Model.WindowLength, 1);
        var trainable = normalised.Series.SelectMany(s => Enumerable.Range(0, s.Length).Where(s.IsTrainable).Select(r => (s.Id, s.Timestamps[r]))).ToHashSet();
        return (shard, trainable);
    }

    [Fact]
    public void TrainedModel_ToBytesFromBytes_RoundTrips()
    {
        var data = TrainingFixtures.SmallData();
        var model = Detector.Train(data, TrainingFixtures.Tiny(rounds: 1) with { CheckpointEvery = 0 }).Model;
        var back = TrainedModel.FromBytes(model.ToBytes());
        Assert.Equal(model.Parameters, back.Parameters);
        Assert.Equal(model.ModelId, back.ModelId);
        var bytes = model.ToBytes();
        bytes[^20] ^= 1;
        Assert.Throws<SparkAnomalyException>(() => TrainedModel.FromBytes(bytes));
    }
}
