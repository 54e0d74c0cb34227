using System.Globalization;
using System.Text;
using Parquet.Schema;
using SparkAnomaly.Data;

namespace SparkAnomaly.Evaluation;

/// <summary>
/// A labels file for <c>evaluate --labels</c>: CSV (comma, semicolon or tab) or Parquet with columns
/// <c>series_id</c>, <c>timestamp</c> and <c>label</c> (0/1). Timestamps are integers as written, or
/// date-times as Unix microseconds (UTC), the units <see cref="Scoring.ScoresReader"/> gives.
/// </summary>
public static class LabelsFile
{
    /// <summary>Label per (series_id, timestamp).</summary>
    /// <exception cref="SparkAnomalyException">Missing file or column, or a value that is not a timestamp or a 0/1 label.</exception>
    public static Dictionary<(string SeriesId, long Timestamp), sbyte> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new SparkAnomalyException($"labels file '{path}' does not exist. Pass a CSV or Parquet file with series_id,timestamp,label columns to --labels.");
        }
        string Refuse(string reason) => $"labels file '{path}' cannot be read ({reason}). Pass a CSV or Parquet file with series_id,timestamp,label columns.";
        if (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
        {
            return UntrustedParquet.Read(() => ReadParquetAsync(path), Refuse);
        }
        try
        {
            return ReadCsv(path);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException)
        {
            throw new SparkAnomalyException(Refuse(UntrustedParquet.Reason(e)), e);
        }
    }

    /// <summary>
    /// The labels read so far and where each came from: a second row for the same series and timestamp is
    /// accepted when it agrees and refused when it does not, since either label silently winning would
    /// change the evaluation without saying so.
    /// </summary>
    private sealed class Collector(string path)
    {
        private readonly Dictionary<(string, long), long> _firstAt = new();

        public Dictionary<(string, long), sbyte> Map { get; } = new();

        // where is "line" (CSV, counting the header) or "row" (Parquet) for the position at; time gives the timestamp as a message shows it.
        public void Add(string id, long stamp, sbyte label, string where, long at, Func<string> time)
        {
            var key = (id, stamp);
            if (Map.TryGetValue(key, out var earlier))
            {
                if (earlier != label)
                {
                    throw new SparkAnomalyException(
                        $"labels file '{path}' {where} {at}: duplicate timestamp {time()} in series '{id}' with label {label}, but {where} {_firstAt[key]} gives it label {earlier}. Remove one of the rows or make their labels agree: each series and timestamp needs one label.");
                }
                return;
            }
            Map.Add(key, label);
            _firstAt.Add(key, at);
        }
    }

    /// <summary>A required labels column: an exact match, else a unique case-insensitive one, as data columns are found.</summary>
    private static int Column(string path, IReadOnlyList<string> names, string name, string fix)
    {
        var candidates = names.Where(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (!names.Contains(name, StringComparer.Ordinal) && candidates.Count > 1)
        {
            // evaluate has no option naming the labels columns, so "pass the exact name" (the data reader's advice) cannot be followed.
            throw new SparkAnomalyException($"labels file '{path}' has both {string.Join(" and ", candidates.Select(c => $"'{c}'"))}: rename all but the '{name}' column to use.");
        }
        return ColumnMap.Find(path, names, name) is int i and >= 0 ? i
            : throw new SparkAnomalyException($"labels file '{path}' has no '{name}' column (found: {string.Join(", ", names)}). {fix}");
    }

    private static Dictionary<(string, long), sbyte> ReadCsv(string path)
    {
        var labels = new Collector(path);
        using var reader = new StreamReader(path, Encoding.UTF8);
        string header = reader.ReadLine() ?? throw new SparkAnomalyException($"labels file '{path}' is empty. Write a header series_id,timestamp,label and one row per labelled step.");
        char delimiter = header.Contains('\t') ? '\t' : header.Contains(';') && !header.Contains(',') ? ';' : ',';
        var names = header.Split(delimiter).Select(n => n.Trim().Trim('"')).ToList();
        int Col(string name) => Column(path, names, name, "Write a header series_id,timestamp,label.");
        int id = Col("series_id"), ts = Col("timestamp"), label = Col("label");
        long line = 1;
        while (reader.ReadLine() is string text)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }
            var cells = text.Split(delimiter);
            if (cells.Length < names.Count)
            {
                throw new SparkAnomalyException($"labels file '{path}' line {line} has {cells.Length} fields; the header has {names.Count}. Fix the row.");
            }
            string t = cells[ts].Trim().Trim('"');
            long stamp;
            if (!long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out stamp) && !TextValues.TryParseDateTime(Encoding.UTF8.GetBytes(t), out stamp))
            {
                throw new SparkAnomalyException($"labels file '{path}' line {line}: timestamp '{t}' is neither an integer nor an ISO 8601 date-time.");
            }
            labels.Add(cells[id].Trim().Trim('"'), stamp, Label(cells[label].Trim().Trim('"'), path, line), "line", line, () => t);
        }
        return labels.Map;
    }

    private static sbyte Label(string text, string path, long line) => text switch
    {
        "0" or "0.0" or "false" or "False" => 0,
        "1" or "1.0" or "true" or "True" => 1,
        _ => throw new SparkAnomalyException($"labels file '{path}' line {line}: label '{text}' is not 0 or 1."),
    };

    private static async Task<Dictionary<(string, long), sbyte>> ReadParquetAsync(string path)
    {
        var collected = new Collector(path);
        await using var fs = File.OpenRead(path);
        await using var reader = await UntrustedParquet.OpenAsync(fs).ConfigureAwait(false);
        var fields = reader.Schema.DataFields;
        var names = fields.Select(f => f.Name).ToList();
        DataField Need(string name) => fields[Column(path, names, name, "Write series_id, timestamp and label columns.")];
        DataField id = Need("series_id"), ts = Need("timestamp"), label = Need("label");
        // Date-times come back as Unix microseconds (see ScoresReader.Timestamps); show them as written.
        bool dateTime = ts.ClrType == typeof(DateTime);
        long row = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int n = checked((int)rg.RowCount);
            var ids = new string?[n];
            await rg.ReadAsync(id, ids.AsMemory(), null, default).ConfigureAwait(false);
            var stamps = await Scoring.ScoresReader.Timestamps(rg, ts, n).ConfigureAwait(false);
            var labels = await Scoring.ScoresReader.Labels(rg, label, n, path).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
            {
                row++;
                if (labels[i] != Series.NoLabel)
                {
                    long stamp = stamps[i];
                    collected.Add(ids[i] ?? "", stamp, labels[i], "row", row, () => dateTime
                        ? DateTime.UnixEpoch.AddTicks(stamp * 10).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture)
                        : stamp.ToString(CultureInfo.InvariantCulture));
                }
            }
        }
        return collected.Map;
    }
}
