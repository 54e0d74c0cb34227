using Microsoft.Spark;
using Microsoft.Spark.Sql;
using SparkAnomaly.Data;
using SparkAnomaly.Scoring;
using static Microsoft.Spark.Sql.Functions;

namespace SparkAnomaly.Spark;

/// <summary>
/// <c>score</c>: Spark applies the model's normaliser to the channels; the model bytes are broadcast once;
/// one grouped-map task per series calls <see cref="ScoringWorker.Score"/> and returns one row per scored
/// step; the scores are written with DataFrameWriter as Parquet partitioned by series, with the local scores
/// file's columns (<see cref="ScoresFile"/>) except label and split.
/// </summary>
public static class ScoreJob
{
    public static void Run(SparkSession spark, JobArguments args, Action<string> log)
    {
        TrainedModel model = ModelFile.FromParquetBytes(SparkIo.ReadModel(spark, args.Model!), args.Model!);
        // Workers get the compact broadcast form; the stored file is the Parquet model every tool reads.
        byte[] modelBytes = model.ToBytes();
        Normaliser normaliser = model.Normaliser;
        string[] channels = normaliser.Channels;

        DataFrame input = SparkIo.ReadTable(spark, args.Data!, args.Format);
        DataFrame rows = input.Select(
            new[]
            {
                SparkIo.UserColumn(args.SeriesColumn).Cast("string").Alias("series"),
                SparkIo.TimeAsLong(input, args.TimeColumn).Alias("ts"),
            }
            .Concat(channels.Select((name, c) => SparkIo.Normalised(SparkIo.UserColumn(name).Cast("float"), normaliser.Offset[c], normaliser.Scale[c])
                .Alias(SparkSchemas.ChannelColumn(c))))
            .ToArray());

        Broadcast<byte[]> broadcastModel = spark.SparkContext.Broadcast(modelBytes);
        try
        {
            DataFrame scores = ApplyScoring(rows.GroupBy("series"), broadcastModel, model.Model.WindowLength, 1);
            if (SparkIo.IsDateTimeType(SparkIo.ColumnType(input, args.TimeColumn)))
            {
                scores = scores.WithColumn("timestamp", Expr("timestamp_micros(`timestamp`)"));
            }
            // The columns of the local scores file, so that 'sparkanomaly evaluate' and 'inspect' read the directory
            // as they read that file: one contrib_<channel> per channel instead of the array (which the train job's
            // threshold pass still uses), and the model's id and threshold rule on every row. No label or split: the
            // score input is not carried through the grouped map.
            scores = scores.Select(new[]
                {
                    Col("series_id"), Col("timestamp"), Col("score"), Col("threshold"), Col("is_anomaly"),
                    Lit(model.Threshold.Method).Alias("threshold_method"), Lit(model.ModelId).Alias("model_id"),
                }
                .Concat(channels.Select((name, c) => Col("contributions").GetItem(c).Alias(ScoresFile.ContributionColumn(name))))
                .ToArray());
            string target = args.Out!.TrimEnd('/') + "/scores.parquet";
            scores.Write()
                .Mode(args.Overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists)
                .PartitionBy("series_id")
                .Parquet(target);
            log($"scores written to {target}");
        }
        finally
        {
            // Only after the write, the action that runs the tasks.
            broadcastModel.Destroy();
        }
    }

    /// <summary>The scoring UDF, alone in its own static method: its closure holds the broadcast and two ints only.</summary>
    internal static DataFrame ApplyScoring(RelationalGroupedDataset groups, Broadcast<byte[]> model, int windowLength, int stride) =>
        groups.Apply(SparkSchemas.ScoreResult(), batch => SparkTasks.ScoreSeriesGroup(batch, model.Value(), windowLength, stride));
}
