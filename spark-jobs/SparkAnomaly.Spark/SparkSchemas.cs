using Microsoft.Spark.Sql.Types;

namespace SparkAnomaly.Spark;

/// <summary>
/// Column layouts shared by the driver and the task functions. Grouped-map output is matched to the
/// declared schema by position and Arrow type, never by name (SPARK_NOTES §2), so each result schema here
/// mirrors, field for field, the Arrow schema built in <see cref="SparkTasks"/>. No fields (closure rules).
/// </summary>
public static class SparkSchemas
{
    /// <summary>Channel <paramref name="index"/>'s column: user channel names can hold characters Spark paths dislike.</summary>
    public static string ChannelColumn(int index) => "c" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Training input, in this order: shard int, series string, ts long, trainable boolean, channels float.</summary>
    public static string[] TrainInputColumns(int channels) =>
        new[] { "shard", "series", "ts", "trainable" }.Concat(Enumerable.Range(0, channels).Select(ChannelColumn)).ToArray();

    /// <summary>Scoring input, in this order: series string, ts long, channels float.</summary>
    public static string[] ScoreInputColumns(int channels) =>
        new[] { "series", "ts" }.Concat(Enumerable.Range(0, channels).Select(ChannelColumn)).ToArray();

    /// <summary>One row per training task: worker int, round int, result binary (the worker's result payload).</summary>
    public static StructType TrainResult() => new(new[]
    {
        new StructField("worker", new IntegerType(), false),
        new StructField("round", new IntegerType(), false),
        new StructField("result", new BinaryType(), false),
    });

    /// <summary>One row per scored step (Arrow: utf8, int64, double, double, bool, list&lt;double&gt;).</summary>
    public static StructType ScoreResult() => new(new[]
    {
        new StructField("series_id", new StringType(), false),
        new StructField("timestamp", new LongType(), false),
        new StructField("score", new DoubleType(), false),
        new StructField("threshold", new DoubleType(), false),
        new StructField("is_anomaly", new BooleanType(), false),
        new StructField("contributions", new ArrayType(new DoubleType(), false), false),
    });

    /// <summary>The shard assignment sent from the driver: series string, shard int.</summary>
    public static StructType ShardAssignment() => new(new[]
    {
        new StructField("series", new StringType(), false),
        new StructField("shard", new IntegerType(), false),
    });

    /// <summary>A file's bytes stored as a one-row Parquet dataset on a Hadoop path: name string, content binary.</summary>
    public static StructType StoredFile() => new(new[]
    {
        new StructField("name", new StringType(), false),
        new StructField("content", new BinaryType(), false),
    });
}
