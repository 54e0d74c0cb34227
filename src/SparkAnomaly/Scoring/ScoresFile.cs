using Parquet;
using Parquet.Schema;
using SparkAnomaly.Data;
using SparkAnomaly.Training;

namespace SparkAnomaly.Scoring;

/// <summary>
/// <c>scores.parquet</c>: one row per scored time step — <c>series_id</c> string, <c>timestamp</c>
/// (int64 for steps and epoch values, a UTC timestamp for date-times), <c>score</c> double,
/// <c>threshold</c> double, <c>is_anomaly</c> bool, <c>label</c> nullable int32, <c>split</c> string,
/// <c>threshold_method</c> string, <c>model_id</c> string, then <c>contrib_&lt;channel&gt;</c> double per channel.
/// Written to a temporary name and renamed when complete. Key-value metadata <c>sparkanomaly.alarm_filter</c> records
/// the post-processing <c>is_anomaly</c> went through (<see cref="AlarmFilterText"/>), since after it
/// <c>is_anomaly</c> is no longer <c>score &gt; threshold</c>.
/// </summary>
public static class ScoresFile
{
    /// <summary>Rows per row group: bounds writer memory on large inputs.</summary>
    public const int RowGroupSize = 1 << 20;

    /// <summary>Metadata key naming the alarm post-processing applied to <c>is_anomaly</c>.</summary>
    public const string AlarmFilterKey = "sparkanomaly.alarm_filter";

    /// <summary>
    /// Writes the scores of every series; <paramref name="alarmFilter"/> is the filter <see cref="Detector.Score"/>
    /// applied (null: none), recorded in the file's metadata.
    /// </summary>
    public static void Save(string path, TrainedModel model, IReadOnlyList<ScoredSeries> scored, IReadOnlyList<string> channelNames, TimestampKind timestampKind, AlarmFilter? alarmFilter = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scored);
        AtomicFile.Write(path, stream => WriteAsync(stream, model, scored, channelNames, timestampKind, alarmFilter ?? AlarmFilter.None).GetAwaiter().GetResult());
    }

    /// <summary>
    /// <c>none</c> (is_anomaly = score &gt; threshold), or the filter's settings as the score options spell them,
    /// e.g. <c>persistence=1,merge-gap=3,min-duration=5</c>.
    /// </summary>
    public static string AlarmFilterText(AlarmFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return filter == AlarmFilter.None
            ? "none"
            : FormattableString.Invariant($"persistence={filter.Persistence},merge-gap={filter.MergeGap},min-duration={filter.MinDuration}");
    }

    public static string ContributionColumn(string channel) => "contrib_" + channel;

    private static async Task WriteAsync(Stream stream, TrainedModel model, IReadOnlyList<ScoredSeries> scored, IReadOnlyList<string> channels, TimestampKind kind, AlarmFilter alarmFilter)
    {
        var seriesId = new DataField<string>("series_id");
        DataField timestamp = kind == TimestampKind.DateTime
            ? new DateTimeDataField("timestamp", DateTimeFormat.DateAndTimeMicros, isAdjustedToUTC: true)
            : new DataField<long>("timestamp");
        var score = new DataField<double>("score");
        var threshold = new DataField<double>("threshold");
        var isAnomaly = new DataField<bool>("is_anomaly");
        var label = new DataField<int?>("label");
        var split = new DataField<string>("split");
        var method = new DataField<string>("threshold_method");
        var modelId = new DataField<string>("model_id");
        var contrib = channels.Select(c => new DataField<double>(ContributionColumn(c))).ToArray();
        var fields = new List<Field> { seriesId, timestamp, score, threshold, isAnomaly, label, split, method, modelId };
        fields.AddRange(contrib);

        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream);
        writer.CustomMetadata = new Dictionary<string, string>
        {
            [OutputFiles.ScoresMarker] = model.ModelId,
            ["sparkanomaly.threshold"] = System.Text.Json.JsonSerializer.Serialize(model.Threshold),
            ["sparkanomaly.score_rule"] = model.Threshold.ScoreRule,
            [AlarmFilterKey] = AlarmFilterText(alarmFilter),
        };
        string id = model.ModelId;
        var rows = scored.SelectMany(s => Enumerable.Range(0, s.Series.Length).Select(r => (s, r)));
        foreach (var chunk in rows.Chunk(RowGroupSize))
        {
            int n = chunk.Length;
            using var rg = writer.CreateRowGroup();
            await rg.WriteAsync(seriesId, chunk.Select(x => x.s.Series.Id).ToArray());
            if (kind == TimestampKind.DateTime)
            {
                await rg.WriteAsync<DateTime>(timestamp, chunk.Select(x => DateTime.UnixEpoch.AddTicks(x.s.Series.Timestamps[x.r] * 10)).ToArray());
            }
            else
            {
                await rg.WriteAsync<long>(timestamp, chunk.Select(x => x.s.Series.Timestamps[x.r]).ToArray());
            }
            await rg.WriteAsync<double>(score, chunk.Select(x => x.s.Score[x.r]).ToArray());
            await rg.WriteAsync<double>(threshold, chunk.Select(x => double.IsNaN(x.s.Threshold) ? model.Threshold.For(x.s.Series.Id) : x.s.Threshold).ToArray());
            await rg.WriteAsync<bool>(isAnomaly, chunk.Select(x => x.s.IsAnomaly[x.r]).ToArray());
            await rg.WriteAsync<int>(label, chunk.Select(x => x.s.Series.Labels is { } l && l[x.r] != Series.NoLabel ? (int?)l[x.r] : null).ToArray());
            await rg.WriteAsync(split, chunk.Select(x => x.s.Series.Splits?[x.r] switch { RowSplit.Train => "train", RowSplit.Test => "test", _ => "" }).ToArray());
            await rg.WriteAsync(method, Enumerable.Repeat(model.Threshold.Method, n).ToArray());
            await rg.WriteAsync(modelId, Enumerable.Repeat(id, n).ToArray());
            for (int c = 0; c < contrib.Length; c++)
            {
                int ch = c;
                await rg.WriteAsync<double>(contrib[c], chunk.Select(x => x.s.Contributions[x.r * channels.Count + ch]).ToArray());
            }
        }
    }
}
