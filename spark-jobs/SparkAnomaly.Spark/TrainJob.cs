using Microsoft.Spark;
using Microsoft.Spark.Sql;
using Microsoft.Spark.Sql.Expressions;
using SparkAnomaly.Data;
using SparkAnomaly.Scoring;
using SparkAnomaly.Training;
using static Microsoft.Spark.Sql.Functions;
// Functions.Window (time windows) is imported above, so the window-spec factory goes by another name.
using SparkWindow = Microsoft.Spark.Sql.Expressions.Window;

namespace SparkAnomaly.Spark;

/// <summary>
/// <c>train</c>: input through spark.Read() → per-series row counts → <see cref="ShardPlanner.Plan"/> →
/// shard column (join with a small assignment DataFrame) → normaliser from Spark aggregates over the
/// trainable rows → <see cref="ParameterAveragingMaster"/> over a <see cref="SparkCluster"/> → model file.
/// Every decision (plan, normalisation, averaging, retries, checkpoints) is the library's.
/// </summary>
public static class TrainJob
{
    public static void Run(SparkSession spark, JobArguments args, Action<string> log, CancellationToken cancellationToken)
    {
        TrainingConfig config = TrainingConfig.FromJson(SparkIo.ReadText(spark, args.Config!), args.Config!).Validate();
        string[] channels = args.Channels;
        if (channels.Length == 0)
        {
            throw new SparkAnomalyException("train needs --channels, e.g. --channels x,y,z (the value columns, in model order).");
        }

        DataFrame input = SparkIo.ReadTable(spark, args.Data!, args.Format);
        DataFrame rows = input.Select(
            new[]
            {
                SparkIo.UserColumn(args.SeriesColumn).Cast("string").Alias("series"),
                SparkIo.TimeAsLong(input, args.TimeColumn).Alias("ts"),
                SparkIo.Trainable(input, args.SplitColumn).Alias("trainable"),
            }
            .Concat(channels.Select((name, c) => SparkIo.UserColumn(name).Cast("float").Alias(SparkSchemas.ChannelColumn(c))))
            .ToArray());

        // threshold_row marks the rows whose scores set the threshold: the trainable rows, or with calibrationRows each
        // series' last N trainable rows, which then leave training and the normaliser (Detector.HoldOutCalibrationRows).
        if (config.CalibrationRows > 0)
        {
            WindowSpec latestFirst = SparkWindow.PartitionBy("series", "trainable").OrderBy(Col("ts").Desc());
            rows = rows
                .WithColumn("threshold_row", Col("trainable").And(RowNumber().Over(latestFirst).Leq(config.CalibrationRows)))
                .WithColumn("trainable", Col("trainable").And(Not(Col("threshold_row"))))
                // Counts, normaliser, shards and threshold must all see one choice of rows, even between equal timestamps.
                .Cache();
        }
        else
        {
            rows = rows.WithColumn("threshold_row", Col("trainable"));
        }

        // Trainable rows per series, sorted by id so that the plan never depends on Spark's collect order. A series whose
        // trainable rows all became calibration rows stays in the plan with 0 rows (no window to train): it is still
        // scored, and its rows still set the threshold, as in the local trainer.
        var counts = rows.Filter(Col("trainable").Or(Col("threshold_row"))).GroupBy("series")
            .Agg(Sum(When(Col("trainable"), 1).Otherwise(0)).Cast("long"))
            .Collect()
            .Select(r => (SeriesId: r.GetAs<string>(0), Rows: r.GetAs<long>(1)))
            .OrderBy(s => s.SeriesId, StringComparer.Ordinal)
            .ToList();
        if (config.CalibrationRows > 0 && counts.All(c => c.Rows < config.WindowLength))
        {
            throw new SparkAnomalyException($"calibrationRows {config.CalibrationRows} holds out too much of '{args.Data}': no series keeps the {config.WindowLength} training rows of one window to train on. Lower calibrationRows in '{args.Config}', or set it to 0 to fit the threshold on the training rows' own scores.");
        }
        ShardPlan plan = ShardPlanner.Plan(counts, config.Workers, config.WindowLength, config.Stride);
        log($"{counts.Count} series on {config.Workers} workers; windows per worker: {string.Join(", ", plan.WindowsPerWorker)}");

        Normaliser normaliser = FitNormaliser(rows, channels, config.Normalisation);

        DataFrame assignment = spark.CreateDataFrame(
            plan.WorkerOfSeries.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new GenericRow(new object[] { p.Key, p.Value })),
            SparkSchemas.ShardAssignment());
        DataFrame sharded = rows.Join(Broadcast(assignment), "series")
            .Select(new[] { Col("shard"), Col("series"), Col("ts"), Col("trainable") }
                .Concat(channels.Select((_, c) => SparkIo.Normalised(Col(SparkSchemas.ChannelColumn(c)), normaliser.Offset[c], normaliser.Scale[c])
                    .Alias(SparkSchemas.ChannelColumn(c))))
                .ToArray())
            // One partition per shard where the range split allows it; cached, as every round reads it.
            .RepartitionByRange(config.Workers, Col("shard"))
            .Cache();

        string checkpoints = args.CheckpointDirectory
            ?? (SparkIo.IsDriverLocal(args.Out!) ? Path.Combine(args.Out!, "checkpoints") : Path.Combine(Path.GetTempPath(), "sparkanomaly-checkpoints"));
        Directory.CreateDirectory(checkpoints);
        var modelConfig = config.ModelFor(channels.Length);
        TrainingOutcome outcome;
        using (var cluster = new SparkCluster(spark, sharded, config.Workers, config.WindowLength, config.Stride, log))
        {
            var master = new ParameterAveragingMaster(config, modelConfig, cluster, plan.WindowsPerWorker, new MasterOptions
            {
                CheckpointPath = Path.Combine(checkpoints, "checkpoint.bin"),
                Resume = args.Resume,
                OnRound = r => log($"round {r.Round + 1}: loss {r.Loss:F3}, {r.Windows} windows, fit {r.FitMs:F0} ms, retries {r.Retries}"),
            });
            outcome = master.Run(cancellationToken);
        }
        TrainedModel model = Detector.Assemble(config, modelConfig, normaliser, outcome, args.Data!,
            "spark:" + string.Join(",", counts.Select(c => $"{c.SeriesId}={c.Rows}")).GetHashCode().ToString("x8"), plan.WindowsPerWorker.Sum());

        // The threshold comes from the threshold rows' scores, computed by the same grouped-map scoring.
        DataFrame thresholdRows = rows.Select("series", "ts", "threshold_row").WithColumnRenamed("series", "series_id").WithColumnRenamed("ts", "timestamp");
        T OnTrainingScores<T>(TrainedModel scoring, Func<DataFrame, T> action)
        {
            Broadcast<byte[]> scoringModel = spark.SparkContext.Broadcast(scoring.ToBytes());
            try
            {
                DataFrame scored = ScoreJob.ApplyScoring(sharded.Drop("shard", "trainable").GroupBy("series"), scoringModel, config.WindowLength, 1);
                return action(scored.Join(thresholdRows, new[] { "series_id", "timestamp" }).Filter(Col("threshold_row")));
            }
            finally
            {
                // Only after the action, which runs the tasks.
                scoringModel.Destroy();
            }
        }
        if (Detector.NeedsResidualVariance(model))
        {
            // Reconstruction probability: a unit-variance pass gives each channel's mean contribution over the same
            // rows, from which the library fits the residual variance the threshold's scores are computed with.
            Row means = OnTrainingScores(model, scoredRows => scoredRows
                .Agg(Avg(Col("contributions").GetItem(0)), Enumerable.Range(1, channels.Length - 1).Select(c => Avg(Col("contributions").GetItem(c))).ToArray())
                .Collect()
                .Single());
            model = Detector.WithResidualVariance(model, Enumerable.Range(0, channels.Length).Select(c => means.GetAs<double>(c)).ToArray());
        }
        // With thresholdScope per-series each score comes with its series, and the library groups them. Rows are
        // consumed as Collect() streams them: the driver keeps a double per step (and one string per series), not Rows.
        bool perSeries = config.ThresholdScope == ThresholdScope.PerSeries;
        var scoreList = new List<double>();
        var seriesList = perSeries ? new List<string>() : null;
        OnTrainingScores(model, scoredRows =>
        {
            var ids = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Row r in (perSeries ? scoredRows.Select("score", "series_id") : scoredRows.Select("score")).Collect())
            {
                scoreList.Add(r.GetAs<double>(0));
                if (seriesList is not null)
                {
                    string id = r.GetAs<string>(1);
                    seriesList.Add(ids.TryGetValue(id, out var same) ? same : (ids[id] = id));
                }
            }
            return scoreList.Count;
        });
        double[] trainingScores = scoreList.ToArray();
        IReadOnlyList<string>? seriesOfScores = seriesList;
        model = model.WithThreshold(Detector.ThresholdFromScores(model, config, trainingScores, seriesOfScores));
        if (config.CalibrationRows > 0)
        {
            rows.Unpersist();
        }
        string written = SparkIo.WriteModel(spark, args.Out!, ModelFile.ToParquetBytes(model));
        log($"model written to {written} (threshold {model.Threshold.Value:G5} from {trainingScores.Length} training steps)");
    }

    /// <summary>Count, sum, sum of squares, min and max per channel over the trainable rows, in one Spark job.</summary>
    private static Normaliser FitNormaliser(DataFrame rows, string[] channels, NormalisationKind kind)
    {
        var aggregates = new List<Column>();
        for (int c = 0; c < channels.Length; c++)
        {
            Column x = Col(SparkSchemas.ChannelColumn(c)).Cast("double");
            aggregates.Add(Sum(x));
            aggregates.Add(Sum(x * x));
            aggregates.Add(Min(x));
            aggregates.Add(Max(x));
        }
        Row stats = rows.Filter(Col("trainable")).Agg(Count(Lit(1)), aggregates.ToArray()).Collect().Single();
        long count = stats.GetAs<long>(0);
        if (count == 0)
        {
            throw new SparkAnomalyException("the input has no trainable rows (every row has split=test): nothing to fit the normaliser on. Mark some rows split=train or leave the split column empty.");
        }
        var sum = new double[channels.Length];
        var sumOfSquares = new double[channels.Length];
        var min = new double[channels.Length];
        var max = new double[channels.Length];
        for (int c = 0; c < channels.Length; c++)
        {
            sum[c] = Statistic(stats, 1 + 4 * c, channels[c]);
            sumOfSquares[c] = Statistic(stats, 2 + 4 * c, channels[c]);
            min[c] = Statistic(stats, 3 + 4 * c, channels[c]);
            max[c] = Statistic(stats, 4 + 4 * c, channels[c]);
        }
        return Normaliser.FromStatistics(kind, channels, count, sum, sumOfSquares, min, max);
    }

    /// <summary>
    /// One aggregate of <see cref="FitNormaliser"/>. Spark's sum/min/max are null when a channel has no value in any
    /// trainable row, and Row.GetAs&lt;double&gt; would fail on that null with a bare InvalidCastException.
    /// </summary>
    private static double Statistic(Row stats, int index, string channel) =>
        stats.Get(index) is null
            ? throw new SparkAnomalyException($"channel '{channel}' has no value in any trainable row (all missing, or text that is not a number): nothing to fit the normaliser on. Check --channels and that column's values.")
            : stats.GetAs<double>(index);
}
