using Parquet;
using Parquet.Schema;
using SparkAnomaly.Data;

namespace SparkAnomaly.Scoring;

/// <summary>The rows of one series read back from a <c>scores.parquet</c>, in file order.</summary>
/// <param name="Id">The series id.</param>
/// <param name="Timestamps">Per row: the int64 timestamp, or Unix microseconds (UTC) for a date-time column.</param>
/// <param name="Score">Per-row score.</param>
/// <param name="Threshold">Per-row threshold (constant for a global threshold, per series otherwise).</param>
/// <param name="IsAnomaly">Per-row alarm as written by the scorer.</param>
/// <param name="Labels">0/1 per row, <see cref="Series.NoLabel"/> where the label is null.</param>
/// <param name="Splits">Per-row split (<see cref="RowSplit.Unspecified"/> for empty or absent).</param>
/// <param name="Contributions">Row-major [rows × channels] channel contributions; empty when the file has none.</param>
public sealed record ScoresSeries(
    string Id, long[] Timestamps, double[] Score, double[] Threshold, bool[] IsAnomaly, sbyte[] Labels, RowSplit[] Splits, double[] Contributions)
{
    /// <summary>Number of rows.</summary>
    public int Length => Timestamps.Length;
}

/// <summary>A whole <c>scores.parquet</c>: the series in order of first appearance, and the channel names of its contribution columns.</summary>
public sealed record ScoresData(string Source, IReadOnlyList<ScoresSeries> Series, IReadOnlyList<string> Channels, bool DateTimeTimestamps, string? ThresholdMethod)
{
    /// <summary>True when at least one row has a label.</summary>
    public bool HasLabels => Series.Any(s => s.Labels.Any(l => l != Data.Series.NoLabel));
}

/// <summary>
/// Reads a <c>scores.parquet</c> written by <see cref="ScoresFile"/> (or any file with the same required
/// columns: <c>series_id</c>, <c>timestamp</c>, <c>score</c>, <c>is_anomaly</c>; <c>threshold</c>, <c>label</c>,
/// <c>split</c> and <c>contrib_*</c> are optional). Treats the file as untrusted: every failure is a
/// <see cref="SparkAnomalyException"/> naming the file and what to do.
/// </summary>
public static class ScoresReader
{
    /// <summary>Reads the file; rows of a series keep their file order (the scorer writes them sorted).</summary>
    /// <exception cref="SparkAnomalyException">The file is missing, not Parquet, or lacks a required column.</exception>
    public static ScoresData Read(string path) => ReadUntrusted(path, ReadAsync);

    /// <summary>
    /// Opens a scores file as untrusted input for any reader of it (this one, <see cref="ScoresSummary"/>):
    /// a missing file or any parser failure becomes one <see cref="SparkAnomalyException"/> naming the file.
    /// </summary>
    internal static T ReadUntrusted<T>(string path, Func<string, Task<T>> read)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new SparkAnomalyException($"scores file '{path}' does not exist. Pass a scores.parquet written by 'sparkanomaly score'.");
        }
        return UntrustedParquet.Read(
            () => read(path),
            reason => $"scores file '{path}' is not a readable scores Parquet file ({reason}). Pass a scores.parquet written by 'sparkanomaly score'.");
    }

    private static async Task<ScoresData> ReadAsync(string path)
    {
        await using var fs = File.OpenRead(path);
        await using var reader = await UntrustedParquet.OpenAsync(fs).ConfigureAwait(false);
        var fields = reader.Schema.DataFields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        DataField Need(string name) => fields.TryGetValue(name, out var f) ? f
            : throw new SparkAnomalyException($"scores file '{path}' has no '{name}' column (found: {string.Join(", ", fields.Keys.Take(12))}). Pass a scores.parquet written by 'sparkanomaly score'.");
        var idField = Need("series_id");
        var tsField = Need("timestamp");
        var scoreField = Need("score");
        var flagField = Need("is_anomaly");
        fields.TryGetValue("threshold", out var thresholdField);
        fields.TryGetValue("label", out var labelField);
        fields.TryGetValue("split", out var splitField);
        var contribFields = reader.Schema.DataFields.Where(f => f.Name.StartsWith("contrib_", StringComparison.Ordinal)).ToArray();
        bool dateTime = tsField.ClrType == typeof(DateTime) || tsField.ClrType == typeof(DateTimeOffset);

        var ids = new List<string>();
        var ts = new List<long>();
        var score = new List<double>();
        var threshold = new List<double>();
        var flag = new List<bool>();
        var label = new List<sbyte>();
        var split = new List<RowSplit>();
        var contrib = new List<double>[contribFields.Length];
        for (int c = 0; c < contrib.Length; c++)
        {
            contrib[c] = new List<double>();
        }
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int n = checked((int)rg.RowCount);
            var idCol = new string?[n];
            await rg.ReadAsync(idField, idCol.AsMemory(), null, default).ConfigureAwait(false);
            ids.AddRange(idCol.Select(s => s ?? ""));
            ts.AddRange(await Timestamps(rg, tsField, n).ConfigureAwait(false));
            score.AddRange(await Doubles(rg, scoreField, n, path).ConfigureAwait(false));
            threshold.AddRange(thresholdField is null ? Enumerable.Repeat(double.NaN, n) : await Doubles(rg, thresholdField, n, path).ConfigureAwait(false));
            flag.AddRange(await Bools(rg, flagField, n, path).ConfigureAwait(false));
            label.AddRange(labelField is null ? Enumerable.Repeat(Series.NoLabel, n) : await Labels(rg, labelField, n, path).ConfigureAwait(false));
            if (splitField is null)
            {
                split.AddRange(Enumerable.Repeat(RowSplit.Unspecified, n));
            }
            else
            {
                var s = new string?[n];
                await rg.ReadAsync(splitField, s.AsMemory(), null, default).ConfigureAwait(false);
                split.AddRange(s.Select(v => v switch { "train" => RowSplit.Train, "test" => RowSplit.Test, _ => RowSplit.Unspecified }));
            }
            for (int c = 0; c < contribFields.Length; c++)
            {
                contrib[c].AddRange(await Doubles(rg, contribFields[c], n, path).ConfigureAwait(false));
            }
        }

        // Group rows by series, keeping the order in which series first appear.
        var order = new List<string>();
        var rowsOf = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < ids.Count; i++)
        {
            if (!rowsOf.TryGetValue(ids[i], out var rows))
            {
                rowsOf[ids[i]] = rows = new List<int>();
                order.Add(ids[i]);
            }
            rows.Add(i);
        }
        var series = order.Select(id =>
        {
            var rows = rowsOf[id];
            int f = contribFields.Length;
            var cm = new double[rows.Count * f];
            for (int r = 0; r < rows.Count; r++)
            {
                for (int c = 0; c < f; c++)
                {
                    cm[r * f + c] = contrib[c][rows[r]];
                }
            }
            return new ScoresSeries(id, rows.Select(r => ts[r]).ToArray(), rows.Select(r => score[r]).ToArray(), rows.Select(r => threshold[r]).ToArray(),
                rows.Select(r => flag[r]).ToArray(), rows.Select(r => label[r]).ToArray(), rows.Select(r => split[r]).ToArray(), cm);
        }).ToList();
        var meta = reader.CustomMetadata;
        string? method = null;
        if (meta is not null && meta.TryGetValue("sparkanomaly.threshold", out var tj))
        {
            try
            {
                method = System.Text.Json.JsonSerializer.Deserialize<ThresholdInfo>(tj)?.Method;
            }
            catch (System.Text.Json.JsonException)
            {
                // Informational only: a damaged metadata entry must not block evaluation of intact columns.
            }
        }
        return new ScoresData(path, series, contribFields.Select(f => f.Name["contrib_".Length..]).ToList(), dateTime, method);
    }

    internal static async Task<long[]> Timestamps(ParquetRowGroupReader rg, DataField f, int n)
    {
        var t = f.ClrType;
        if (t == typeof(DateTime))
        {
            return (await Values<DateTime>(rg, f, n).ConfigureAwait(false)).Select(d => TextValues.ToUnixMicros(d ?? DateTime.UnixEpoch)).ToArray();
        }
        if (t == typeof(long))
        {
            return (await Values<long>(rg, f, n).ConfigureAwait(false)).Select(v => v ?? 0).ToArray();
        }
        if (t == typeof(int))
        {
            return (await Values<int>(rg, f, n).ConfigureAwait(false)).Select(v => (long)(v ?? 0)).ToArray();
        }
        throw new SparkAnomalyException($"column 'timestamp' has type {t.Name}; a scores file stores int64 or timestamp values. Pass a scores.parquet written by 'sparkanomaly score'.");
    }

    private static async Task<double[]> Doubles(ParquetRowGroupReader rg, DataField f, int n, string path)
    {
        if (f.ClrType == typeof(double))
        {
            return (await Values<double>(rg, f, n).ConfigureAwait(false)).Select(v => v ?? double.NaN).ToArray();
        }
        if (f.ClrType == typeof(float))
        {
            return (await Values<float>(rg, f, n).ConfigureAwait(false)).Select(v => v is float x ? x : double.NaN).ToArray();
        }
        throw new SparkAnomalyException($"scores file '{path}': column '{f.Name}' has type {f.ClrType.Name}, not double. Pass a scores.parquet written by 'sparkanomaly score'.");
    }

    private static async Task<bool[]> Bools(ParquetRowGroupReader rg, DataField f, int n, string path)
    {
        if (f.ClrType != typeof(bool))
        {
            throw new SparkAnomalyException($"scores file '{path}': column '{f.Name}' has type {f.ClrType.Name}, not boolean. Pass a scores.parquet written by 'sparkanomaly score'.");
        }
        return (await Values<bool>(rg, f, n).ConfigureAwait(false)).Select(v => v ?? false).ToArray();
    }

    internal static async Task<sbyte[]> Labels(ParquetRowGroupReader rg, DataField f, int n, string path)
    {
        long?[] v = f.ClrType == typeof(int) ? (await Values<int>(rg, f, n).ConfigureAwait(false)).Select(x => (long?)x).ToArray()
            : f.ClrType == typeof(long) ? await Values<long>(rg, f, n).ConfigureAwait(false)
            : f.ClrType == typeof(bool) ? (await Values<bool>(rg, f, n).ConfigureAwait(false)).Select(x => x is bool b ? (long?)(b ? 1 : 0) : null).ToArray()
            : throw new SparkAnomalyException($"scores file '{path}': column 'label' has type {f.ClrType.Name}, not int32. Pass a scores.parquet written by 'sparkanomaly score'.");
        return v.Select(x => x switch { null => Series.NoLabel, 0 => (sbyte)0, _ => (sbyte)1 }).ToArray();
    }

    /// <summary>Reads a column as nullable values whether or not the schema declares it nullable.</summary>
    private static async Task<T?[]> Values<T>(ParquetRowGroupReader rg, DataField f, int n)
        where T : struct
    {
        if (f.IsNullable)
        {
            var b = new T?[n];
            await rg.ReadAsync<T>(f, b.AsMemory(), null, default).ConfigureAwait(false);
            return b;
        }
        var a = new T[n];
        await rg.ReadAsync<T>(f, a.AsMemory(), null, default).ConfigureAwait(false);
        return a.Select(x => (T?)x).ToArray();
    }
}
