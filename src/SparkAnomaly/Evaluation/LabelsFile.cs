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

    private static Dictionary<(string, long), sbyte> ReadCsv(string path)
    {
        var map = new Dictionary<(string, long), sbyte>();
        using var reader = new StreamReader(path, Encoding.UTF8);
        string header = reader.ReadLine() ?? throw new SparkAnomalyException($"labels file '{path}' is empty. Write a header series_id,timestamp,label and one row per labelled step.");
        char delimiter = header.Contains('\t') ? '\t' : header.Contains(';') && !header.Contains(',') ? ';' : ',';
        var names = header.Split(delimiter).Select(n => n.Trim().Trim('"')).ToList();
        int Col(string name) => names.IndexOf(name) is int i and >= 0 ? i
            : throw new SparkAnomalyException($"labels file '{path}' has no '{name}' column (found: {string.Join(", ", names)}). Write a header series_id,timestamp,label.");
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
            map[(cells[id].Trim().Trim('"'), stamp)] = Label(cells[label].Trim().Trim('"'), path, line);
        }
        return map;
    }

    private static sbyte Label(string text, string path, long line) => text switch
    {
        "0" or "0.0" or "false" or "False" => 0,
        "1" or "1.0" or "true" or "True" => 1,
        _ => throw new SparkAnomalyException($"labels file '{path}' line {line}: label '{text}' is not 0 or 1."),
    };

    private static async Task<Dictionary<(string, long), sbyte>> ReadParquetAsync(string path)
    {
        var map = new Dictionary<(string, long), sbyte>();
        await using var fs = File.OpenRead(path);
        await using var reader = await UntrustedParquet.OpenAsync(fs).ConfigureAwait(false);
        DataField Need(string name) => reader.Schema.DataFields.FirstOrDefault(f => f.Name == name)
            ?? throw new SparkAnomalyException($"labels file '{path}' has no '{name}' column (found: {string.Join(", ", reader.Schema.DataFields.Select(f => f.Name))}). Write series_id, timestamp and label columns.");
        DataField id = Need("series_id"), ts = Need("timestamp"), label = Need("label");
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
                if (labels[i] != Series.NoLabel)
                {
                    map[(ids[i] ?? "", stamps[i])] = labels[i];
                }
            }
        }
        return map;
    }
}
