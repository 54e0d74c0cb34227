using Apache.Arrow;
using Apache.Arrow.Types;
using SparkAnomaly.Scoring;
using SparkAnomaly.Training;

namespace SparkAnomaly.Spark;

/// <summary>
/// The code that runs inside Spark tasks, on the .NET worker (a self-contained .NET 8 process with its
/// own Apache.Arrow 14.0.2). Each function turns one group's Arrow batch into the library's BCL-only
/// input, calls the engine-agnostic library, and returns exactly the columns declared in
/// <see cref="SparkSchemas"/>, in that order, with the matching Arrow types, never null.
/// Rules (SPARK_NOTES §3): static methods with unique, non-overloaded names; parameters only byte[],
/// strings and primitives; this class has no fields at all (no static, no const).
/// Exceptions propagate: the Spark task fails visibly and Spark retries it (spark.task.maxFailures).
/// </summary>
public static class SparkTasks
{
    /// <summary>
    /// One training task: the rows of one shard (input layout <see cref="SparkSchemas.TrainInputColumns"/>:
    /// shard int, series string, ts long, trainable bool, channels float...) and this round's bundle of
    /// requests. Returns one row (worker int, round int, result binary) — <see cref="SparkSchemas.TrainResult"/>.
    /// </summary>
    public static RecordBatch TrainShardGroup(RecordBatch batch, byte[] bundle, int round, int windowLength, int stride)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(bundle);
        if (batch.Length == 0)
        {
            return BuildTrainResult(System.Array.Empty<int>(), round, System.Array.Empty<byte[]>());
        }
        var shardColumn = Column<Int32Array>(batch, 0, "shard", "int");
        int worker = shardColumn.GetValue(0) ?? throw new InvalidOperationException("the shard column holds null in a training group");
        ShardData shard = ToShardData(batch, seriesColumn: 1, timeColumn: 2, trainableColumn: 3, firstChannel: 4, windowLength, stride);
        byte[] result = TrainingWorker.Run(RoundBundle.Select(bundle, worker), shard);
        return BuildTrainResult(new[] { worker }, round, new[] { result });
    }

    /// <summary>
    /// One scoring task: the rows of one series (input layout <see cref="SparkSchemas.ScoreInputColumns"/>:
    /// series string, ts long, channels float...) and the broadcast model bytes. Returns one row per
    /// scored step — <see cref="SparkSchemas.ScoreResult"/>.
    /// </summary>
    public static RecordBatch ScoreSeriesGroup(RecordBatch batch, byte[] model, int windowLength, int stride)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(model);
        if (batch.Length == 0)
        {
            return BuildScoreResult(new ScoredRows(System.Array.Empty<string>(), System.Array.Empty<long>(), System.Array.Empty<double>(), System.Array.Empty<double>(), System.Array.Empty<bool>(), System.Array.Empty<double[]>()));
        }
        ShardData rows = ToShardData(batch, seriesColumn: 0, timeColumn: 1, trainableColumn: -1, firstChannel: 2, windowLength, stride);
        return BuildScoreResult(ScoringWorker.Score(model, rows));
    }

    /// <summary>Arrow columns → the library's rows. The library sorts by (series, time) itself; Spark gives no order.</summary>
    private static ShardData ToShardData(RecordBatch batch, int seriesColumn, int timeColumn, int trainableColumn, int firstChannel, int windowLength, int stride)
    {
        int n = batch.Length;
        var seriesArray = Column<StringArray>(batch, seriesColumn, "series", "string");
        var timeArray = Column<Int64Array>(batch, timeColumn, "ts", "long");
        NoNulls(batch, seriesColumn);
        NoNulls(batch, timeColumn);
        var seriesIds = new string[n];
        for (int i = 0; i < n; i++)
        {
            seriesIds[i] = seriesArray.GetString(i);
        }
        long[] timestamps = timeArray.Values.ToArray();

        bool[]? trainable = null;
        if (trainableColumn >= 0)
        {
            var trainableArray = Column<BooleanArray>(batch, trainableColumn, "trainable", "boolean");
            NoNulls(batch, trainableColumn);
            trainable = new bool[n];
            for (int i = 0; i < n; i++)
            {
                trainable[i] = trainableArray.GetValue(i) == true;
            }
        }

        var channels = new float[batch.ColumnCount - firstChannel][];
        for (int c = 0; c < channels.Length; c++)
        {
            var values = Column<FloatArray>(batch, firstChannel + c, $"channel {c}", "float");
            NoNulls(batch, firstChannel + c);
            channels[c] = values.Values.ToArray();
        }
        return ShardData.FromColumns(seriesIds, timestamps, channels, trainable, windowLength, stride);
    }

    private static RecordBatch BuildTrainResult(int[] workers, int round, byte[][] results)
    {
        var worker = new Int32Array.Builder();
        var rounds = new Int32Array.Builder();
        var payload = new BinaryArray.Builder();
        for (int i = 0; i < workers.Length; i++)
        {
            worker.Append(workers[i]);
            rounds.Append(round);
            payload.Append(results[i].AsSpan());
        }
        // Same order and types as SparkSchemas.TrainResult: worker int, round int, result binary.
        var schema = new Schema.Builder()
            .Field(f => f.Name("worker").DataType(Int32Type.Default).Nullable(false))
            .Field(f => f.Name("round").DataType(Int32Type.Default).Nullable(false))
            .Field(f => f.Name("result").DataType(BinaryType.Default).Nullable(false))
            .Build();
        return new RecordBatch(schema, new IArrowArray[] { worker.Build(), rounds.Build(), payload.Build() }, workers.Length);
    }

    private static RecordBatch BuildScoreResult(ScoredRows scored)
    {
        int n = scored.SeriesIds.Length;
        var series = new StringArray.Builder();
        var time = new Int64Array.Builder();
        var score = new DoubleArray.Builder();
        var threshold = new DoubleArray.Builder();
        var anomaly = new BooleanArray.Builder();
        var contributions = new ListArray.Builder(DoubleType.Default);
        var contributionValues = (DoubleArray.Builder)contributions.ValueBuilder;
        for (int i = 0; i < n; i++)
        {
            series.Append(scored.SeriesIds[i]);
            time.Append(scored.Timestamps[i]);
            score.Append(scored.Score[i]);
            threshold.Append(scored.Threshold[i]);
            anomaly.Append(scored.IsAnomaly[i]);
            contributions.Append();
            foreach (double v in scored.Contributions[i])
            {
                contributionValues.Append(v);
            }
        }
        // Same order and types as SparkSchemas.ScoreResult.
        var schema = new Schema.Builder()
            .Field(f => f.Name("series_id").DataType(StringType.Default).Nullable(false))
            .Field(f => f.Name("timestamp").DataType(Int64Type.Default).Nullable(false))
            .Field(f => f.Name("score").DataType(DoubleType.Default).Nullable(false))
            .Field(f => f.Name("threshold").DataType(DoubleType.Default).Nullable(false))
            .Field(f => f.Name("is_anomaly").DataType(BooleanType.Default).Nullable(false))
            .Field(f => f.Name("contributions").DataType(new ListType(DoubleType.Default)).Nullable(false))
            .Build();
        return new RecordBatch(
            schema,
            new IArrowArray[] { series.Build(), time.Build(), score.Build(), threshold.Build(), anomaly.Build(), contributions.Build() },
            n);
    }

    private static T Column<T>(RecordBatch batch, int index, string what, string sparkType)
        where T : class, IArrowArray
    {
        if (index >= batch.ColumnCount || batch.Column(index) is not T array)
        {
            string found = index < batch.ColumnCount ? batch.Schema.GetFieldByIndex(index).DataType.Name : "nothing";
            throw new SparkAnomalyException(
                $"Spark task input column {index} ({what}) should be Spark type {sparkType} but is Arrow {found} " +
                $"(columns: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name + ":" + f.DataType.Name))}). The driver's Select and this task disagree: rebuild and redeploy both from one commit.");
        }
        return array;
    }

    private static void NoNulls(RecordBatch batch, int index)
    {
        int nulls = batch.Column(index).NullCount;
        if (nulls > 0)
        {
            throw new SparkAnomalyException(
                $"Column '{batch.Schema.GetFieldByIndex(index).Name}' has {nulls} missing value(s) in a group of {batch.Length} rows. Fill or drop rows with missing series ids, timestamps or channel values before training or scoring.");
        }
    }
}
