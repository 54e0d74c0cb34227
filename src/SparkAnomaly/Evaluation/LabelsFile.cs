using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;
using SparkAnomaly.Data;

namespace SparkAnomaly.Evaluation;

/// <summary>How <see cref="LabelsFile"/> finds its columns; the defaults are the names <c>sparkanomaly score</c> writes.</summary>
public sealed record LabelsOptions
{
    /// <summary>The series column; the default name absent from the file (or null) means the file is one series.</summary>
    public string? SeriesColumn { get; init; } = ReadOptions.DefaultSeriesColumn;

    /// <summary>The time column; the default name absent from the file means rows are numbered 0, 1, 2, … per series in file order.</summary>
    public string TimeColumn { get; init; } = ReadOptions.DefaultTimeColumn;

    /// <summary>The 0/1 label column; required.</summary>
    public string LabelColumn { get; init; } = ReadOptions.DefaultLabelColumn;

    /// <summary>CSV delimiter; null detects it from the header (tab, else ';' when there is no ',', else ',').</summary>
    public char? Delimiter { get; init; }
}

/// <summary>What kind of timestamps a labels file has.</summary>
public enum LabelsTimeKind
{
    /// <summary>No time column: rows are numbered 0, 1, 2, … per series in file order.</summary>
    Steps,

    /// <summary>Integers as written.</summary>
    Integer,

    /// <summary>Date-times, as Unix microseconds (UTC).</summary>
    DateTime,
}

/// <summary>The labels of a labels file, keyed by (series, timestamp), and how its columns were read.</summary>
/// <param name="Path">The file.</param>
/// <param name="Map">Label per (series id, timestamp); unlabelled rows (null cells) are absent.</param>
/// <param name="SingleSeries">The file's own name when it has no series column (one series), else null.</param>
/// <param name="SeriesColumn">The series column as found in the file, or null.</param>
/// <param name="TimeColumn">The time column as found in the file, or null (<see cref="LabelsTimeKind.Steps"/>).</param>
/// <param name="TimeKind">Integers, date-times or row numbers.</param>
/// <param name="Columns">Every column of the file, for messages.</param>
public sealed record LabelsTable(string Path, Dictionary<(string SeriesId, long Timestamp), sbyte> Map, string? SingleSeries, string? SeriesColumn, string? TimeColumn, LabelsTimeKind TimeKind, IReadOnlyList<string> Columns)
{
    /// <summary>A timestamp of this file as a message shows it.</summary>
    public string Show(long stamp) => LabelsFile.Show(stamp, TimeKind == LabelsTimeKind.DateTime);
}

/// <summary>
/// A labels file for <c>evaluate --labels</c>: CSV (comma, semicolon or tab, or <see cref="LabelsOptions.Delimiter"/>) or
/// Parquet with a series column (default <c>series_id</c>; absent: the file is one series), a time column (default
/// <c>timestamp</c>; absent: row order) and a 0/1 label column (default <c>label</c>). Timestamps are integers as
/// written, or date-times as Unix microseconds (UTC), the units <see cref="Scoring.ScoresReader"/> gives; one file has
/// one kind.
/// </summary>
public static class LabelsFile
{
    /// <summary>Label per (series_id, timestamp), with the default columns.</summary>
    /// <exception cref="SparkAnomalyException">Missing file or column, or a value that is not a timestamp or a 0/1 label.</exception>
    public static Dictionary<(string SeriesId, long Timestamp), sbyte> Read(string path) => Read(path, new LabelsOptions()).Map;

    /// <summary>The labels of <paramref name="path"/>, its columns found by <paramref name="options"/>.</summary>
    /// <exception cref="SparkAnomalyException">Missing file or column, or a value that is not a timestamp or a 0/1 label.</exception>
    public static LabelsTable Read(string path, LabelsOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        string expected = Expected(options);
        if (!File.Exists(path))
        {
            throw new SparkAnomalyException($"labels file '{path}' does not exist. Pass a CSV or Parquet file with {expected} columns to --labels.");
        }
        if (string.IsNullOrEmpty(options.TimeColumn) || string.IsNullOrEmpty(options.LabelColumn) || options.SeriesColumn is "")
        {
            throw new SparkAnomalyException("The series, time and label column names must not be empty. Pass a column name to --series-column, --time-column or --label-column.");
        }
        string Refuse(string reason) => $"labels file '{path}' cannot be read ({reason}). Pass a CSV or Parquet file with {expected} columns.";
        if (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
        {
            return UntrustedParquet.Read(() => ReadParquetAsync(path, options), Refuse);
        }
        try
        {
            return ReadCsv(path, options);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException)
        {
            throw new SparkAnomalyException(Refuse(UntrustedParquet.Reason(e)), e);
        }
    }

    /// <summary>A timestamp as a message shows it: ISO 8601 (UTC) for date-times, else the integer.</summary>
    internal static string Show(long stamp, bool dateTime) => dateTime
        ? DateTime.UnixEpoch.AddTicks(stamp * 10).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture)
        : stamp.ToString(CultureInfo.InvariantCulture);

    private static string Expected(LabelsOptions o) => $"{o.SeriesColumn ?? ReadOptions.DefaultSeriesColumn},{o.TimeColumn},{o.LabelColumn}";

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

    /// <summary>The columns of one labels file: index of series and time (-1: absent), and of the label.</summary>
    private readonly record struct Columns(int Series, int Time, int Label);

    private static Columns Find(string path, IReadOnlyList<string> names, LabelsOptions o)
    {
        int series = o.SeriesColumn is null ? -1 : Column(path, names, o.SeriesColumn, "--series-column", required: o.SeriesColumn != ReadOptions.DefaultSeriesColumn);
        int time = Column(path, names, o.TimeColumn, "--time-column", required: o.TimeColumn != ReadOptions.DefaultTimeColumn);
        int label = Column(path, names, o.LabelColumn, "--label-column", required: true);
        return new Columns(series, time, label);
    }

    /// <summary>
    /// A labels column: an exact match, else a unique case-insensitive one, as data columns are found. An absent default
    /// series or time column is allowed (-1); any other absent column is refused naming the option that names it.
    /// </summary>
    private static int Column(string path, IReadOnlyList<string> names, string name, string option, bool required)
    {
        var candidates = names.Where(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (!names.Contains(name, StringComparer.Ordinal) && candidates.Count > 1)
        {
            throw new SparkAnomalyException($"labels file '{path}' has both {string.Join(" and ", candidates.Select(c => $"'{c}'"))}: pass the exact name with {option}.");
        }
        int i = ColumnMap.Find(path, names, name);
        if (i < 0 && required)
        {
            throw new SparkAnomalyException($"labels file '{path}' has no '{name}' column (found: {string.Join(", ", names)}). Pass {option} with the name of the column that holds it, e.g. {option} {Quote(names.Count > 0 ? names[^1] : name)}.");
        }
        return i;
    }

    private static string Quote(string name) => name.Contains(' ', StringComparison.Ordinal) ? $"\"{name}\"" : name;

    /// <summary>Numbers rows 0, 1, 2, … per series in file order, for a file without a time column.</summary>
    private sealed class RowNumbers
    {
        private readonly Dictionary<string, long> _next = new(StringComparer.Ordinal);

        public long Next(string id)
        {
            _next.TryGetValue(id, out long n);
            _next[id] = n + 1;
            return n;
        }
    }

    private static LabelsTable ReadCsv(string path, LabelsOptions options)
    {
        var labels = new Collector(path);
        using var reader = new StreamReader(path, Encoding.UTF8);
        string header = reader.ReadLine() ?? throw new SparkAnomalyException($"labels file '{path}' is empty. Write a header {Expected(options)} and one row per labelled step.");
        char delimiter = options.Delimiter ?? (header.Contains('\t') ? '\t' : header.Contains(';') && !header.Contains(',') ? ';' : ',');
        var names = header.Split(delimiter).Select(n => n.Trim().Trim('"')).ToList();
        var (id, ts, label) = Find(path, names, options);
        string single = System.IO.Path.GetFileNameWithoutExtension(path);
        var steps = new RowNumbers();
        LabelsTimeKind? kind = ts < 0 ? LabelsTimeKind.Steps : null;
        long firstOfKind = 0;
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
                throw new SparkAnomalyException($"labels file '{path}' line {line} has {cells.Length} fields; the header has {names.Count}. Fix the row{(options.Delimiter is null ? $", or pass --delimiter if the fields are not separated by '{delimiter}'" : "")}.");
            }
            string series = id < 0 ? single : cells[id].Trim().Trim('"');
            long stamp;
            string t;
            if (ts < 0)
            {
                stamp = steps.Next(series);
                t = stamp.ToString(CultureInfo.InvariantCulture);
            }
            else
            {
                t = cells[ts].Trim().Trim('"');
                LabelsTimeKind rowKind;
                if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out stamp))
                {
                    rowKind = LabelsTimeKind.Integer;
                }
                else if (TextValues.TryParseDateTime(Encoding.UTF8.GetBytes(t), out stamp))
                {
                    rowKind = LabelsTimeKind.DateTime;
                }
                else
                {
                    throw new SparkAnomalyException($"labels file '{path}' line {line}: timestamp '{t}' in column '{names[ts]}' is neither an integer nor an ISO 8601 date-time. Fix the value, or pass --time-column with the column that holds the time.");
                }
                if (kind is null)
                {
                    kind = rowKind;
                    firstOfKind = line;
                }
                else if (kind != rowKind)
                {
                    throw new SparkAnomalyException($"labels file '{path}' line {line}: timestamp '{t}' is {(rowKind == LabelsTimeKind.DateTime ? "a date-time" : "an integer")}, but line {firstOfKind} has {(kind == LabelsTimeKind.DateTime ? "a date-time" : "an integer")}. Write every timestamp of column '{names[ts]}' the same way.");
                }
            }
            labels.Add(series, stamp, Label(cells[label].Trim().Trim('"'), path, line, names[label]), "line", line, () => t);
        }
        return new LabelsTable(path, labels.Map, id < 0 ? single : null, id < 0 ? null : names[id], ts < 0 ? null : names[ts], kind ?? LabelsTimeKind.Integer, names);
    }

    private static sbyte Label(string text, string path, long line, string column) => text switch
    {
        "0" or "0.0" or "false" or "False" => 0,
        "1" or "1.0" or "true" or "True" => 1,
        _ => throw new SparkAnomalyException($"labels file '{path}' line {line}: label '{text}' in column '{column}' is not 0 or 1. Fix the value, or pass --label-column with the 0/1 column."),
    };

    private static async Task<LabelsTable> ReadParquetAsync(string path, LabelsOptions options)
    {
        var collected = new Collector(path);
        await using var fs = File.OpenRead(path);
        await using var reader = await UntrustedParquet.OpenAsync(fs).ConfigureAwait(false);
        var fields = reader.Schema.DataFields;
        var names = fields.Select(f => f.Name).ToList();
        var (idAt, tsAt, labelAt) = Find(path, names, options);
        DataField? id = idAt < 0 ? null : fields[idAt];
        DataField? ts = tsAt < 0 ? null : fields[tsAt];
        DataField label = fields[labelAt];
        if (ts is not null && ts.ClrType != typeof(DateTime) && ts.ClrType != typeof(long) && ts.ClrType != typeof(int))
        {
            throw new SparkAnomalyException($"labels file '{path}': time column '{ts.Name}' has type {ts.ClrType.Name}; it must be int64, int32 or a timestamp. Convert it, or pass --time-column with another column.");
        }
        // Date-times come back as Unix microseconds (see ScoresReader.Timestamps); show them as written.
        var kind = ts is null ? LabelsTimeKind.Steps : ts.ClrType == typeof(DateTime) ? LabelsTimeKind.DateTime : LabelsTimeKind.Integer;
        string single = System.IO.Path.GetFileNameWithoutExtension(path);
        var steps = new RowNumbers();
        long row = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int n = checked((int)rg.RowCount);
            var ids = new string?[n];
            if (id is not null)
            {
                await rg.ReadAsync(id, ids.AsMemory(), null, default).ConfigureAwait(false);
            }
            long[]? stamps = ts is null ? null : await Scoring.ScoresReader.Timestamps(rg, ts, n).ConfigureAwait(false);
            var labels = await Labels(rg, label, n, path).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
            {
                row++;
                string series = id is null ? single : ids[i] ?? "";
                long stamp = stamps is null ? steps.Next(series) : stamps[i];
                if (labels[i] != Series.NoLabel)
                {
                    collected.Add(series, stamp, labels[i], "row", row, () => Show(stamp, kind == LabelsTimeKind.DateTime));
                }
            }
        }
        return new LabelsTable(path, collected.Map, id is null ? single : null, id?.Name, ts?.Name, kind, names);
    }

    /// <summary>A 0/1 label column of int, long, bool, float or double type; nulls are no label.</summary>
    private static async Task<sbyte[]> Labels(ParquetRowGroupReader rg, DataField f, int n, string path)
    {
        var t = f.ClrType;
        if (t == typeof(int) || t == typeof(long) || t == typeof(bool))
        {
            return await Scoring.ScoresReader.Labels(rg, f, n, path).ConfigureAwait(false);
        }
        double?[] v = t == typeof(double) ? await Scoring.ScoresReader.Values<double>(rg, f, n).ConfigureAwait(false)
            : t == typeof(float) ? (await Scoring.ScoresReader.Values<float>(rg, f, n).ConfigureAwait(false)).Select(x => (double?)x).ToArray()
            : throw new SparkAnomalyException($"labels file '{path}': label column '{f.Name}' has type {t.Name}; it must hold 0/1 as integers, booleans or numbers. Pass --label-column with the 0/1 column.");
        var result = new sbyte[n];
        for (int i = 0; i < n; i++)
        {
            result[i] = v[i] switch
            {
                null => Series.NoLabel,
                0.0 => 0,
                1.0 => 1,
                double x => throw new SparkAnomalyException($"labels file '{path}' row {i + 1} of its row group: label {x.ToString(CultureInfo.InvariantCulture)} in column '{f.Name}' is not 0 or 1. Fix the value, or pass --label-column with the 0/1 column."),
            };
        }
        return result;
    }
}
