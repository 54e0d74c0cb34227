using System.Globalization;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using SparkAnomaly.Data;

namespace SparkAnomaly.Scoring;

/// <summary>
/// One series of a scores file, summarised. Timestamps are given as text: ISO 8601 (UTC) for
/// date-time timestamps, the integer itself for steps and epoch values.
/// </summary>
/// <param name="SeriesId">The series.</param>
/// <param name="Rows">Scored time steps.</param>
/// <param name="Flagged">Steps with <c>is_anomaly</c> true (score above the threshold).</param>
/// <param name="FirstAlarm">Timestamp of the earliest flagged step, or null when none is flagged.</param>
/// <param name="MaxScore">Largest score of the series.</param>
/// <param name="MaxScoreAt">Timestamp of the largest score.</param>
/// <param name="LabelledRows">Steps with a label (null when the file has no labels for this series).</param>
/// <param name="LabelledAnomalies">Steps labelled 1 (null without labels).</param>
/// <param name="FirstLabelledAnomaly">Timestamp of the earliest step labelled 1, or null.</param>
/// <param name="FlaggedAndLabelled">Flagged steps that are labelled 1: true positives, point-wise (null without labels).</param>
public sealed record SeriesScoreSummary(
    string SeriesId,
    long Rows,
    long Flagged,
    string? FirstAlarm,
    double MaxScore,
    string? MaxScoreAt,
    long? LabelledRows,
    long? LabelledAnomalies,
    string? FirstLabelledAnomaly,
    long? FlaggedAndLabelled);

/// <summary>
/// A per-series summary of a <c>scores.parquet</c> file (see <see cref="ScoresFile"/>), read column by
/// column and row group by row group, so it works on files of any size, and on files rewritten by
/// other tools (nullable columns, extra columns, any row order).
/// </summary>
/// <param name="Path">The file read.</param>
/// <param name="ModelId">The model that scored it (metadata or <c>model_id</c> column), if known.</param>
/// <param name="Threshold">The threshold the file was flagged with (NaN when unknown).</param>
/// <param name="ThresholdMethod">Its rule, e.g. <c>percentile:99.9</c>, if known.</param>
/// <param name="Rows">All rows.</param>
/// <param name="Flagged">All flagged rows.</param>
/// <param name="HasLabels">Whether any row carries a label.</param>
/// <param name="Series">One entry per series, in order of first appearance.</param>
public sealed record ScoresSummary(
    string Path,
    string? ModelId,
    double Threshold,
    string? ThresholdMethod,
    long Rows,
    long Flagged,
    bool HasLabels,
    IReadOnlyList<SeriesScoreSummary> Series)
{
    /// <summary>
    /// Reads and summarises <paramref name="path"/>, a scores file or a Spark score job's output directory; throws
    /// <see cref="SparkAnomalyException"/> if it is neither.
    /// </summary>
    public static ScoresSummary Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Directory.Exists(path) ? FromData(ScoresReader.Read(path)) : ScoresReader.ReadUntrusted(path, ReadAsync);
    }

    /// <summary>
    /// A directory is summarised from what <see cref="ScoresReader"/> reads (the whole of it in memory): its rules
    /// for part files, partition folders and row order are then the ones evaluate applies, not a second copy.
    /// </summary>
    private static ScoresSummary FromData(ScoresData data)
    {
        var series = data.Series.Select(s =>
        {
            var a = new Acc();
            for (int i = 0; i < s.Length; i++)
            {
                // Microseconds to the ticks since the epoch that the file path accumulates.
                long t = data.DateTimeTimestamps ? s.Timestamps[i] * 10 : s.Timestamps[i];
                Add(a, t, s.IsAnomaly[i], s.Score[i], s.Labels[i] == Data.Series.NoLabel ? null : s.Labels[i]);
            }
            return Summarise(s.Id, a, data.DateTimeTimestamps);
        }).ToList();
        double threshold = data.Series.Count > 0 && data.Series[0].Length > 0 ? data.Series[0].Threshold[0] : double.NaN;
        return new ScoresSummary(data.Source, data.ModelId, threshold, data.ThresholdMethod, series.Sum(s => s.Rows), series.Sum(s => s.Flagged), data.HasLabels, series);
    }


    private sealed class Acc
    {
        public long Rows;
        public long Flagged;
        public long? FirstAlarm;
        public double MaxScore = double.NegativeInfinity;
        public long? MaxScoreAt;
        public long LabelledRows;
        public long LabelledAnomalies;
        public long? FirstLabelled;
        public long FlaggedAndLabelled;
    }

    private static async Task<ScoresSummary> ReadAsync(string path)
    {
        await using var fs = File.OpenRead(path);
        await using var reader = await UntrustedParquet.OpenAsync(fs).ConfigureAwait(false);
        var fields = reader.Schema.DataFields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        DataField Need(string name) => fields.TryGetValue(name, out var f) ? f
            : throw new SparkAnomalyException($"'{path}' has no '{name}' column, so it is not a scores file (found: {string.Join(", ", fields.Keys)}). Pass a scores.parquet written by sparkanomaly.");
        var idField = Need("series_id");
        var scoreField = Need("score");
        fields.TryGetValue("timestamp", out var timeField);
        fields.TryGetValue("is_anomaly", out var flagField);
        fields.TryGetValue("label", out var labelField);
        fields.TryGetValue("threshold", out var thresholdField);
        bool dateTime = timeField is not null && (timeField.ClrType == typeof(DateTime) || timeField.ClrType == typeof(DateTimeOffset));

        var meta = reader.CustomMetadata ?? new Dictionary<string, string>();
        string? modelId = meta.TryGetValue("sparkanomaly.model_id", out var id) ? id : null;
        double threshold = double.NaN;
        string? method = null;
        if (meta.TryGetValue("sparkanomaly.threshold", out var tj))
        {
            var t = JsonSerializer.Deserialize<ThresholdInfo>(tj);
            threshold = t?.Value ?? double.NaN;
            method = t?.Method;
        }

        var acc = new Dictionary<string, Acc>(StringComparer.Ordinal);
        var order = new List<string>();
        bool hasLabels = false;
        long offset = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int n = checked((int)rg.RowCount);
            var ids = new string?[n];
            await rg.ReadAsync(idField, ids.AsMemory(), null, default).ConfigureAwait(false);
            var scores = await Doubles(rg, scoreField, n).ConfigureAwait(false);
            long?[] times = timeField is null ? Enumerable.Range(0, n).Select(i => (long?)(offset + i)).ToArray() : await Times(rg, timeField, n).ConfigureAwait(false);
            double?[]? thresholds = flagField is null && thresholdField is not null ? await Doubles(rg, thresholdField, n).ConfigureAwait(false) : null;
            bool?[] flags = flagField is not null
                ? await ScoresReader.Values<bool>(rg, flagField, n).ConfigureAwait(false)
                : Enumerable.Range(0, n).Select(i => (bool?)(scores[i] > (thresholds?[i] ?? threshold))).ToArray();
            long?[]? labels = labelField is null ? null : await Integers(rg, labelField, n).ConfigureAwait(false);
            if (modelId is null && fields.TryGetValue("model_id", out var modelField) && n > 0)
            {
                var m = new string?[n];
                await rg.ReadAsync(modelField, m.AsMemory(), null, default).ConfigureAwait(false);
                modelId = m[0];
            }
            if (double.IsNaN(threshold) && thresholdField is not null && n > 0)
            {
                threshold = (await Doubles(rg, thresholdField, n).ConfigureAwait(false))[0] ?? double.NaN;
            }
            for (int i = 0; i < n; i++)
            {
                string sid = ids[i] ?? "";
                if (!acc.TryGetValue(sid, out var a))
                {
                    acc[sid] = a = new Acc();
                    order.Add(sid);
                }
                hasLabels |= labels?[i] is not null;
                Add(a, times[i], flags[i] == true, scores[i], labels?[i]);
            }
            offset += n;
        }

        var series = order.Select(sid => Summarise(sid, acc[sid], dateTime)).ToList();
        return new ScoresSummary(path, modelId, threshold, method, series.Sum(s => s.Rows), series.Sum(s => s.Flagged), hasLabels, series);
    }

    /// <summary>Adds one row to a series' accumulator; <paramref name="t"/> is an integer timestamp or ticks since the epoch.</summary>
    private static void Add(Acc a, long? t, bool flagged, double? score, long? label)
    {
        a.Rows++;
        if (flagged)
        {
            a.Flagged++;
            if (t is long ft && (a.FirstAlarm is null || ft < a.FirstAlarm))
            {
                a.FirstAlarm = ft;
            }
        }
        if (score is double s && s > a.MaxScore)
        {
            a.MaxScore = s;
            a.MaxScoreAt = t;
        }
        if (label is long l)
        {
            a.LabelledRows++;
            if (l == 1)
            {
                a.LabelledAnomalies++;
                if (flagged)
                {
                    a.FlaggedAndLabelled++;
                }
                if (t is long lt && (a.FirstLabelled is null || lt < a.FirstLabelled))
                {
                    a.FirstLabelled = lt;
                }
            }
        }
    }

    private static SeriesScoreSummary Summarise(string sid, Acc a, bool dateTime)
    {
        string? Time(long? t) => t is not long v ? null
            : dateTime ? DateTime.UnixEpoch.AddTicks(v).ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture)
            : v.ToString(CultureInfo.InvariantCulture);
        bool labelled = a.LabelledRows > 0;
        return new SeriesScoreSummary(sid, a.Rows, a.Flagged, Time(a.FirstAlarm), a.Rows > 0 && double.IsFinite(a.MaxScore) ? a.MaxScore : double.NaN, Time(a.MaxScoreAt),
            labelled ? a.LabelledRows : null, labelled ? a.LabelledAnomalies : null, labelled ? Time(a.FirstLabelled) : null, labelled ? a.FlaggedAndLabelled : null);
    }

    private static async Task<double?[]> Doubles(ParquetRowGroupReader rg, DataField f, int n) =>
        f.ClrType == typeof(double) ? await ScoresReader.Values<double>(rg, f, n).ConfigureAwait(false)
        : f.ClrType == typeof(float) ? Array.ConvertAll(await ScoresReader.Values<float>(rg, f, n).ConfigureAwait(false), v => (double?)v)
        : throw new SparkAnomalyException($"column '{f.Name}' has type {f.ClrType.Name}; a scores file stores it as double.");

    private static async Task<long?[]> Integers(ParquetRowGroupReader rg, DataField f, int n) =>
        f.ClrType == typeof(int) ? Array.ConvertAll(await ScoresReader.Values<int>(rg, f, n).ConfigureAwait(false), v => (long?)v)
        : f.ClrType == typeof(long) ? await ScoresReader.Values<long>(rg, f, n).ConfigureAwait(false)
        : f.ClrType == typeof(short) ? Array.ConvertAll(await ScoresReader.Values<short>(rg, f, n).ConfigureAwait(false), v => (long?)v)
        : f.ClrType == typeof(bool) ? Array.ConvertAll(await ScoresReader.Values<bool>(rg, f, n).ConfigureAwait(false), v => v is bool b ? (long?)(b ? 1 : 0) : null)
        : throw new SparkAnomalyException($"column '{f.Name}' has type {f.ClrType.Name}; a scores file stores it as an integer.");

    /// <summary>Integer timestamps as they are; date-times as ticks since the Unix epoch (UTC).</summary>
    private static async Task<long?[]> Times(ParquetRowGroupReader rg, DataField f, int n) =>
        f.ClrType == typeof(DateTime) ? Array.ConvertAll(await ScoresReader.Values<DateTime>(rg, f, n).ConfigureAwait(false), v => v is DateTime d ? (long?)((d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : DateTime.SpecifyKind(d, DateTimeKind.Utc)) - DateTime.UnixEpoch).Ticks : null)
        : f.ClrType == typeof(DateTimeOffset) ? Array.ConvertAll(await ScoresReader.Values<DateTimeOffset>(rg, f, n).ConfigureAwait(false), v => v is DateTimeOffset d ? (long?)(d.UtcDateTime - DateTime.UnixEpoch).Ticks : null)
        : await Integers(rg, f, n).ConfigureAwait(false);
}
