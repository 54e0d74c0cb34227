using System.Reflection;
using System.Runtime.InteropServices;
using SparkAnomaly.Data;
using SparkAnomaly.Scoring;
using SparkAnomaly.Training;

namespace SparkAnomaly;

/// <summary>Options of a training run that do not change its result.</summary>
public sealed record TrainRunOptions
{
    /// <summary>Checkpoint file, written atomically every <c>checkpointEvery</c> rounds.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Continue from <see cref="CheckpointPath"/> if it exists.</summary>
    public bool Resume { get; init; }

    /// <summary>Faults to inject into worker tasks (tests, soak runs, the CLI's --inject-fault).</summary>
    public IReadOnlyList<Fault>? Faults { get; init; }

    /// <summary>Called after every round on the driver thread, with its loss, windows and phase timings (progress bars, logs, live plots).</summary>
    public Action<RoundStats>? OnRound { get; init; }

    /// <summary>Called with the round number after every checkpoint write.</summary>
    public Action<int>? OnCheckpoint { get; init; }

    /// <summary>Called once, after the run has been set up (data, shards, rounds, resume) and before its first round or checkpoint write: the last point where a refusal leaves the output directory as it was.</summary>
    public Action? BeforeFirstRound { get; init; }
}

/// <summary>A finished training run: the model, and how the run went.</summary>
/// <param name="Model">The trained detector (parameters, normaliser, threshold, provenance); save it with <see cref="ModelFile.Save"/>.</param>
/// <param name="Outcome">Per-round statistics (<c>Outcome.Rounds</c>) and the final parameter state.</param>
/// <param name="ShardPlan">One line per worker: the windows and series it trained on.</param>
/// <param name="TrainingWindows">Trainable windows across all workers.</param>
/// <param name="Seconds">Wall-clock time of the whole call, threshold fitting included.</param>
/// <param name="SkippedSeries">Series with no trainable window (shorter than the window, or all split=test), named with their length.</param>
public sealed record TrainRun(TrainedModel Model, TrainingOutcome Outcome, IReadOnlyList<string> ShardPlan, long TrainingWindows, double Seconds, IReadOnlyList<string> SkippedSeries);

/// <summary>
/// The library in one place, one call per step, for programs and notebooks:
/// <code>
/// var data = DataReader.Read("sensors.parquet");
/// var run = Detector.Train(data, new TrainingConfig { Workers = 2, Rounds = 40 });
/// var scores = Detector.Score(run.Model, data, out _);
/// </code>
/// </summary>
public static class Detector
{
    /// <summary>This library's version (recorded in every model's provenance).</summary>
    public static string LibraryVersion =>
        typeof(Detector).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0.0.0";

    /// <summary>
    /// Fits the normaliser on trainable rows, shards the windows across <c>workers</c> local replicas,
    /// trains with parameter averaging, then fits the threshold on the training-period scores.
    /// </summary>
    /// <param name="data">Series to train on; rows with <c>split=test</c> are never trained on.</param>
    /// <param name="config">Every setting of the run (<c>conf/train.json</c> documents each field).</param>
    /// <param name="options">Checkpointing, resume, fault injection and per-round callbacks; none changes the result.</param>
    /// <param name="cancellationToken">Stops the run between rounds.</param>
    /// <exception cref="SparkAnomalyException">Invalid settings, no trainable window, or a worker failing past its retries.</exception>
    public static TrainRun Train(SeriesSet data, TrainingConfig config, TrainRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var thresholdSpec = ThresholdSpec.Parse(config.Threshold);
        options ??= new TrainRunOptions();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Calibration rows are held out by marking them split=test: the normaliser and the windows never see them.
        var fitData = config.CalibrationRows > 0 ? HoldOutCalibrationRows(data, config.CalibrationRows, config.WindowLength) : data;
        var normaliser = Normaliser.Fit(fitData, config.Normalisation);
        var normalised = normaliser.Apply(fitData);
        var shards = ShardPlanner.Split(normalised.Series, config.Workers, config.WindowLength, config.Stride, config.Repartition);
        var modelConfig = config.ModelFor(data.Channels);
        string fingerprint = Fingerprint(data);
        TrainingOutcome outcome;
        using (var cluster = new LocalCluster(shards, options.Faults))
        {
            var master = new ParameterAveragingMaster(config, modelConfig, cluster, shards.Select(s => (long)s.WindowCount).ToArray(), new MasterOptions
            {
                CheckpointPath = options.CheckpointPath,
                Resume = options.Resume,
                OnRound = options.OnRound,
                OnCheckpoint = options.OnCheckpoint,
                BeforeFirstRound = options.BeforeFirstRound,
                DataFingerprint = fingerprint,
            });
            outcome = master.Run(cancellationToken);
        }
        long windows = shards.Sum(s => (long)s.WindowCount);
        var model = Assemble(config, modelConfig, normaliser, outcome, data.Source, fingerprint, windows);
        model = model.WithThreshold(FitThreshold(model, data, thresholdSpec, ThresholdMethod(config), config.ThresholdScope, config.CalibrationRows));
        var used = shards.SelectMany(sh => sh.Series).Select(x => x.Id).ToHashSet(StringComparer.Ordinal);
        var skipped = data.Series.Where(x => !used.Contains(x.Id)).Select(x => $"{x.Id} ({x.Length} rows)").ToList();
        return new TrainRun(model, outcome, ShardPlanner.Describe(shards), windows, clock.Elapsed.TotalSeconds, skipped);
    }

    /// <summary>
    /// The model a finished run produced, with its provenance; the threshold is still to be fitted
    /// (<see cref="FitThreshold"/> locally, <see cref="ThresholdFromScores"/> where an engine scored the training rows).
    /// </summary>
    public static TrainedModel Assemble(TrainingConfig config, Model.ModelConfig modelConfig, Normaliser normaliser, TrainingOutcome outcome,
        string dataSource, string dataFingerprint, long trainingWindows)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(outcome);
        var provenance = new TrainingProvenance
        {
            LibraryVersion = LibraryVersion,
            DataSource = dataSource,
            DataFingerprint = dataFingerprint,
            Seed = config.Seed,
            Rounds = outcome.TotalRounds,
            Workers = config.Workers,
            TrainingWindows = trainingWindows,
            // A resume whose checkpoint already held every round trains none: the loss is the checkpoint's (NaN from a version 2 one).
            FinalLoss = outcome.Rounds.Count > 0 ? outcome.Rounds[^1].Loss : outcome.State.LastRoundLoss,
            CreatedUtc = DateTime.UtcNow.ToString("O"),
            ConfigJson = config.ToJson(),
        };
        return new TrainedModel(modelConfig, normaliser, outcome.State.Parameters, new ThresholdInfo(config.Threshold, 0, 0, config.ScoreRule.ToString()), provenance);
    }

    /// <summary>How a model's threshold was fitted, as stored with it: the rule, and where the scores came from.</summary>
    public static string ThresholdMethod(TrainingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.CalibrationRows > 0 ? $"{config.Threshold} of the last {config.CalibrationRows} training rows of each series (held out)" : config.Threshold;
    }

    /// <summary>
    /// The threshold rule of <paramref name="config"/> applied to training-period scores computed elsewhere (in any order):
    /// those of the trainable rows, or with <see cref="TrainingConfig.CalibrationRows"/> of each series' held-out last rows.
    /// With <see cref="ThresholdScope.PerSeries"/>, <paramref name="seriesOfScores"/>[i] names the series of score i, and
    /// each series also gets its own value, as <see cref="FitThreshold"/> gives.
    /// </summary>
    /// <exception cref="SparkAnomalyException">Too few scores for the rule (overall or in one series), or per-series scope without the series of each score.</exception>
    public static ThresholdInfo ThresholdFromScores(TrainedModel model, TrainingConfig config, ReadOnlySpan<double> trainingScores, IReadOnlyList<string>? seriesOfScores = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        var spec = ThresholdSpec.Parse(config.Threshold);
        Dictionary<string, double>? perSeries = null;
        if (config.ThresholdScope == ThresholdScope.PerSeries)
        {
            if (seriesOfScores is null || seriesOfScores.Count != trainingScores.Length)
            {
                throw new SparkAnomalyException($"thresholdScope is per-series, but {(seriesOfScores is null ? "no series ids" : $"{seriesOfScores.Count} series ids")} came with {trainingScores.Length} training scores: pass the series of every score.");
            }
            int missing = Enumerable.Range(0, seriesOfScores.Count).FirstOrDefault(i => seriesOfScores[i] is null, -1);
            if (missing >= 0)
            {
                throw new SparkAnomalyException($"thresholdScope is per-series, but training score {missing} has no series id: pass the series of every score.");
            }
            var scores = trainingScores.ToArray();
            // Ordered by id, so the stored thresholds (and the model id) do not depend on the order an engine returned the rows in.
            perSeries = PerSeriesThresholds(Enumerable.Range(0, scores.Length).GroupBy(i => seriesOfScores[i], StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => (g.Key, g.Select(i => scores[i]).ToArray())), spec);
        }
        return new ThresholdInfo(ThresholdMethod(config), Thresholds.Fit(trainingScores, spec), trainingScores.Length, model.Threshold.ScoreRule, perSeries, model.Threshold.ChannelVariance);
    }

    /// <summary>One threshold per series, each from that series' own training-period scores.</summary>
    private static Dictionary<string, double> PerSeriesThresholds(IEnumerable<(string Id, double[] Scores)> series, ThresholdSpec spec)
    {
        var perSeries = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (id, scores) in series)
        {
            try
            {
                perSeries[id] = Thresholds.Fit(scores, spec);
            }
            catch (SparkAnomalyException e)
            {
                throw new SparkAnomalyException($"series '{id}': its own threshold cannot be fitted on its training rows ({e.Message.TrimEnd('.')}). Use thresholdScope global, or a rule that needs fewer scores.", e);
            }
        }
        return perSeries;
    }

    /// <summary>
    /// True for a reconstruction-probability model whose residual variance is not fitted yet: its threshold's training
    /// rows are scored with unit variance first, and <see cref="WithResidualVariance"/> turns their mean channel
    /// contributions into the variance before the rows are scored again for the threshold.
    /// </summary>
    public static bool NeedsResidualVariance(TrainedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Enum.TryParse<ScoreRule>(model.Threshold.ScoreRule, ignoreCase: true, out var rule) && Scorer.IsReconstructionProbability(rule) && model.Threshold.ChannelVariance is null;
    }

    /// <summary>
    /// The model with its residual variance per channel (<see cref="ThresholdInfo.ChannelVariance"/>) fitted from the
    /// mean contribution of each channel over the threshold's training rows, scored with unit variance
    /// (<see cref="Scorer.ResidualVariance"/>). Where an engine scored those rows itself, it passes its means here.
    /// </summary>
    public static TrainedModel WithResidualVariance(TrainedModel model, ReadOnlySpan<double> unitVarianceMeanContributions)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (unitVarianceMeanContributions.Length != model.Model.Channels)
        {
            throw new SparkAnomalyException($"{unitVarianceMeanContributions.Length} mean channel contributions for a model of {model.Model.Channels} channels: pass one mean per channel, in the model's channel order.");
        }
        return model.WithThreshold(model.Threshold with { ChannelVariance = Scorer.ResidualVariance(unitVarianceMeanContributions) });
    }

    /// <summary>Scores every series at every time step; series shorter than the window are listed in <paramref name="skipped"/>.</summary>
    /// <param name="model">A trained model (<see cref="TrainRun.Model"/>, or <see cref="ModelFile.Load(string)"/>).</param>
    /// <param name="data">Raw (not normalised) series with the model's channels, in the model's order.</param>
    /// <param name="skipped">Ids of series too short to score.</param>
    /// <param name="alarms">Optional post-processing of the flags (minimum duration, merge gap); null keeps them as thresholded.</param>
    /// <returns>Per series: score, per-channel contributions and the is-anomaly flag of every step.</returns>
    public static IReadOnlyList<ScoredSeries> Score(TrainedModel model, SeriesSet data, out IReadOnlyList<string> skipped, AlarmFilter? alarms = null) =>
        Scorer.Score(model, data, out skipped, alarms);

    /// <summary>
    /// The threshold rule applied to the per-step scores of the trainable rows (with <paramref name="calibrationRows"/>
    /// &gt; 0, of each series' last that many trainable rows only, which the model was not trained on): one global
    /// value, and with <see cref="ThresholdScope.PerSeries"/> also one per series from that series' own rows.
    /// </summary>
    public static ThresholdInfo FitThreshold(TrainedModel model, SeriesSet data, ThresholdSpec spec, string method, ThresholdScope scope = ThresholdScope.Global, int calibrationRows = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(calibrationRows);
        var trainable = data.Series.Where(s => Enumerable.Range(0, s.Length).Any(s.IsTrainable) && s.Length >= model.Model.WindowLength).ToList();
        var subset = new SeriesSet(trainable, data.ChannelNames, data.TimestampKind, data.Source);
        if (model.Threshold.ChannelVariance is not null)
        {
            // Refitted every time: the variance describes the same rows as the threshold fitted here.
            model = model.WithThreshold(model.Threshold with { ChannelVariance = null });
        }
        var scored = Scorer.Score(model, subset, out _);
        IEnumerable<int> ThresholdRows(Series s)
        {
            var rows = Enumerable.Range(0, s.Length).Where(s.IsTrainable);
            return calibrationRows > 0 ? rows.TakeLast(calibrationRows) : rows;
        }
        if (NeedsResidualVariance(model))
        {
            // The variance comes from the rows the threshold is fitted on, so both describe the same normal error.
            int f = model.Model.Channels;
            var sums = new double[f];
            long count = 0;
            foreach (var s in scored)
            {
                foreach (int r in ThresholdRows(s.Series))
                {
                    var contributions = s.ContributionsAt(r);
                    for (int c = 0; c < f; c++)
                    {
                        sums[c] += contributions[c];
                    }
                    count++;
                }
            }
            if (count > 0)   // no rows: Thresholds.Fit below says so
            {
                model = WithResidualVariance(model, sums.Select(x => x / count).ToArray());
                scored = Scorer.Score(model, subset, out _);
            }
        }
        double[] TrainingScores(ScoredSeries s) => ThresholdRows(s.Series).Select(r => s.Score[r]).ToArray();
        var scores = scored.SelectMany(TrainingScores).ToArray();
        var perSeries = scope == ThresholdScope.PerSeries ? PerSeriesThresholds(scored.Select(s => (s.Series.Id, TrainingScores(s))), spec) : null;
        return new ThresholdInfo(method, Thresholds.Fit(scores, spec), scores.Length, model.Threshold.ScoreRule, perSeries, model.Threshold.ChannelVariance);
    }

    /// <summary>
    /// The same series (sharing their buffers) with each one's last <paramref name="calibrationRows"/> trainable rows
    /// marked <see cref="RowSplit.Test"/>, so that training never sees them and their scores are out of sample.
    /// </summary>
    /// <exception cref="SparkAnomalyException">No series keeps a window's worth of training rows.</exception>
    public static SeriesSet HoldOutCalibrationRows(SeriesSet data, int calibrationRows, int windowLength)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(calibrationRows, 1);
        bool anyLeft = false;
        var series = data.Series.Select(s =>
        {
            var splits = s.Splits?.ToArray() ?? new RowSplit[s.Length];
            int left = calibrationRows;
            for (int r = s.Length - 1; r >= 0 && left > 0; r--)
            {
                if (splits[r] != RowSplit.Test)
                {
                    splits[r] = RowSplit.Test;
                    left--;
                }
            }
            anyLeft |= splits.Count(x => x != RowSplit.Test) >= windowLength;
            return new Series(s.Id, s.Timestamps, s.Values, s.Channels, s.Labels, splits);
        }).ToList();
        if (!anyLeft)
        {
            throw new SparkAnomalyException($"calibrationRows {calibrationRows} holds out too much of '{data.Source}': no series keeps the {windowLength} training rows of one window to train on. Lower calibrationRows, or set it to 0 to fit the threshold on the training rows' own scores.");
        }
        return new SeriesSet(series, data.ChannelNames, data.TimestampKind, data.Source);
    }

    /// <summary>A checksum of ids, timestamps and values: two runs on the same data have the same fingerprint.</summary>
    public static string Fingerprint(SeriesSet data)
    {
        ArgumentNullException.ThrowIfNull(data);
        ulong h = Hashing.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(string.Join("\u001f", data.ChannelNames)));
        foreach (var s in data.Series)
        {
            h = Hashing.Mix(h, (long)Hashing.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(s.Id)),
                (long)Hashing.Checksum(s.Timestamps),
                (long)Hashing.Checksum(MemoryMarshal.AsBytes(s.Values.AsSpan())));
        }
        return h.ToString("x16");
    }
}
