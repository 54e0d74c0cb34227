using System.Runtime.CompilerServices;
using System.Text;

namespace SparkAnomaly.Data;

/// <summary>Reads one CSV file (or CSV part file) into the series of a <see cref="ReadContext"/>.</summary>
internal static class CsvSource
{
    /// <summary>Rows looked at to decide which columns are numeric when no channels are given.</summary>
    private const int SampleRows = 1000;

    /// <summary>Reads the file; returns the number of data rows (0 for an empty or header-only file).</summary>
    /// <remarks>Fully optimised from the first call: tiered JIT would run most of a small file's rows unoptimised.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long Read(ReadContext ctx, string path, IReadOnlyList<KeyValuePair<string, string>> partitions, bool requireRows)
    {
        var file = new InputFile(path, isParquet: false);
        int fileIndex = ctx.AddFile(file);
        using var stream = Open(path);
        var tok = new CsvTokenizer(stream, path);
        tok.Delimiter = Delimiter(ctx, tok, path);
        if (!tok.Next())
        {
            if (requireRows)
            {
                throw new SparkAnomalyException($"'{path}' is empty. A CSV input needs a header line and at least one data row.");
            }
            return 0;
        }
        var names = new List<string>(tok.FieldCount + partitions.Count);
        for (int i = 0; i < tok.FieldCount; i++)
        {
            names.Add(Encoding.UTF8.GetString(TextValues.Trim(tok.Field(i))));
        }
        int headerCount = names.Count;
        foreach (var p in partitions)
        {
            names.Add(p.Key);
        }
        var partitionValues = partitions.Select(p => Encoding.UTF8.GetBytes(p.Value)).ToArray();

        bool[]? numeric = null;
        (string Column, string Value)? decimalComma = null;
        if (ctx.ChannelNames is null && ctx.Options.Channels is null)
        {
            numeric = SampleNumeric(path, ctx, headerCount, out int sampled, out var comma);
            decimalComma = comma is (int col, string value) ? (names[col], value) : null;
            if (sampled == 0)
            {
                if (requireRows)
                {
                    throw new SparkAnomalyException($"'{path}' has a header but no data rows. Add data rows or point --data at the right file.");
                }
                return 0;
            }
        }
        var map = ColumnMap.Resolve(ctx, path, names, i => numeric is not null && numeric[i], headerCount, NoChannelHint(names, headerCount, (char)tok.Delimiter, decimalComma));

        long row = 0;
        int channels = map.Channels.Length;
        SeriesBuilder? fixedSeries = map.Series < 0 ? ctx.GetSeries(SingleSeriesName(ctx)) : null;
        var missing = ctx.Options.Missing;
        while (tok.Next())
        {
            row++;
            if (tok.FieldCount != headerCount)
            {
                throw new SparkAnomalyException(
                    $"'{path}' data row {row} (line {tok.Line}): {tok.FieldCount} fields, but the header has {headerCount}. Check the delimiter (--delimiter) and that fields containing '{(char)tok.Delimiter}' are quoted.");
            }
            SeriesBuilder series;
            if (fixedSeries is not null)
            {
                series = fixedSeries;
            }
            else
            {
                var id = Cell(tok, map.Series, headerCount, partitionValues);
                if (id.Length == 0)
                {
                    throw Error(path, row, tok.Line, names[map.Series], "the series id is empty", "Give every row a series id or pass --series-column");
                }
                series = ctx.GetSeries(id);
            }
            long t;
            if (map.Time >= 0)
            {
                t = ParseTime(ctx, Cell(tok, map.Time, headerCount, partitionValues), path, row, tok.Line, names[map.Time]);
            }
            else
            {
                t = series.NextStep++;
            }
            int r = series.AddRow(t, ReadContext.Origin(fileIndex, row));
            var values = series.RowValues(r);
            for (int c = 0; c < channels; c++)
            {
                int col = map.Channels[c];
                var text = Cell(tok, col, headerCount, partitionValues);
                var state = TextValues.ParseChannel(text, out values[c]);
                if (state == TextValues.CellState.Ok)
                {
                    continue;
                }
                if (state == TextValues.CellState.Invalid)
                {
                    throw Error(path, row, tok.Line, names[col], $"value {TextValues.Show(text)} is not a number",
                        "Fix the value, or leave the column out with --channels");
                }
                if (missing == MissingPolicy.Reject)
                {
                    throw Error(path, row, tok.Line, names[col], $"value {TextValues.Show(text)} is missing, NaN, infinite or beyond ±1e30",
                        "Fix the data or pass --missing interpolate|drop");
                }
                series.HasMissing = true;
            }
            if (map.Label >= 0)
            {
                var text = Cell(tok, map.Label, headerCount, partitionValues);
                if (!TextValues.TryParseLabel(text, out var label))
                {
                    throw Error(path, row, tok.Line, names[map.Label], $"label {TextValues.Show(text)} is not 0, 1 or empty",
                        "Use 0 (normal), 1 (anomaly) or leave it empty, or pass --label-column for another column");
                }
                series.SetLabel(r, label);
            }
            if (map.Split >= 0)
            {
                var text = Cell(tok, map.Split, headerCount, partitionValues);
                if (!TextValues.TryParseSplit(text, out var split))
                {
                    throw Error(path, row, tok.Line, names[map.Split], $"split {TextValues.Show(text)} is not train, test or empty",
                        "Use train, test or leave it empty, or pass --split-column for another column");
                }
                series.SetSplit(r, split);
            }
        }
        if (row == 0 && requireRows)
        {
            throw new SparkAnomalyException($"'{path}' has a header but no data rows. Add data rows or point --data at the right file.");
        }
        ctx.TotalRows += row;
        return row;
    }

    internal static string SingleSeriesName(ReadContext ctx)
    {
        string src = ctx.Source.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        return Directory.Exists(src) ? Path.GetFileName(src) : Path.GetFileNameWithoutExtension(src);
    }

    private static ReadOnlySpan<byte> Cell(CsvTokenizer tok, int col, int headerCount, byte[][] partitionValues)
        => col < headerCount ? tok.Field(col) : partitionValues[col - headerCount];

    internal static long ParseTime(ReadContext ctx, ReadOnlySpan<byte> text, string path, long row, long line, string column)
    {
        if (ctx.TimeMode == TimeMode.Integer)
        {
            if (TextValues.TryParseInteger(text, out long v))
            {
                return v;
            }
            throw Error(path, row, line, column, $"timestamp {TextValues.Show(text)} is not an integer like the earlier ones ({ctx.TimeModeOrigin})",
                "Use one timestamp format throughout: integers (steps or epoch) or ISO 8601 text");
        }
        if (ctx.TimeMode == TimeMode.DateTime)
        {
            if (TextValues.TryParseDateTime(text, out long v))
            {
                return v;
            }
            throw Error(path, row, line, column, $"timestamp {TextValues.Show(text)} is not an ISO 8601 date-time like the earlier ones ({ctx.TimeModeOrigin})",
                "Use one timestamp format throughout, e.g. 2020-02-08T13:30:47Z");
        }
        if (TextValues.Trim(text).Length == 0)
        {
            throw Error(path, row, line, column, "the timestamp is empty", "Give every row a timestamp, or pass --time-column for another column");
        }
        if (TextValues.TryParseInteger(text, out long i))
        {
            ctx.TimeMode = TimeMode.Integer;
            ctx.TimeModeOrigin = Where(path, row, line);
            return i;
        }
        if (TextValues.TryParseDateTime(text, out long m))
        {
            ctx.TimeMode = TimeMode.DateTime;
            ctx.TimeModeOrigin = Where(path, row, line);
            return m;
        }
        throw Error(path, row, line, column, $"timestamp {TextValues.Show(text)} is neither an integer nor an ISO 8601 date-time",
            "Use integer steps, epoch seconds/milliseconds or ISO 8601 text (2020-02-08T13:30:47Z), or pass --time-column for another column");
    }

    private static string Where(string path, long row, long line)
        => line > 0 ? $"'{path}' data row {row}" : $"'{path}' row {row}";

    private static SparkAnomalyException Error(string path, long row, long line, string column, string what, string todo)
    {
        string where = line > 0 ? $"'{path}' data row {row} (line {line})" : $"'{path}' row {row}";
        return new SparkAnomalyException($"{where}, column '{column}': {what}. {todo}.");
    }

    private static byte Delimiter(ReadContext ctx, CsvTokenizer tok, string path)
    {
        if (ctx.Options.Delimiter is char d)
        {
            if (d > 127 || d == '"' || d == '\n' || d == '\r')
            {
                throw new SparkAnomalyException($"Delimiter '{d}' cannot be used for '{path}': pass an ASCII character other than a quote or newline to --delimiter.");
            }
            return (byte)d;
        }
        return tok.DetectDelimiter();
    }

    private static FileStream Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SparkAnomalyException($"'{path}' could not be opened: {e.Message.TrimEnd('.')}. Check the path and its permissions.", e);
        }
    }

    /// <summary>
    /// A column is numeric when its first value, among the first rows, that is not a missing-value word
    /// (empty, NaN, Inf, null, NA) parses as a number, or when every sampled value is such a word (it is then
    /// a channel with missing values, which the missing-value policy deals with). Text further down is an
    /// error, not a reason to drop the channel silently.
    /// </summary>
    /// <summary>
    /// Why a CSV can show no numeric column although it holds numbers, said only when the file shows it:
    /// with the wrong delimiter the real one is left inside the header names, and with a decimal comma
    /// the numbers read as text. Empty (no hint) otherwise. A function made here, not a lambda in
    /// <see cref="Read"/>, so that the row loop's locals are not captured into a closure.
    /// </summary>
    private static Func<string> NoChannelHint(List<string> names, int headerCount, char delimiter, (string Column, string Value)? decimalComma) =>
        () => NoChannelHintText(names, headerCount, delimiter, decimalComma);

    private static string NoChannelHintText(List<string> names, int headerCount, char delimiter, (string Column, string Value)? decimalComma)
    {
        static string Show(char c) => c == '\t' ? "a tab" : $"'{c}'";
        static string Arg(char c) => c == '\t' ? "tab" : $"'{c}'";
        foreach (char c in ",;\t|")
        {
            if (c != delimiter && names.Take(headerCount).Any(n => n.Contains(c)))
            {
                return $" A column name in the header contains {Show(c)}, so the columns may be separated by {Show(c)} rather than {Show(delimiter)}: if so, pass --delimiter {Arg(c)} (or leave --delimiter out to detect it).";
            }
        }
        if (decimalComma is var (column, value))
        {
            return $" Column '{column}' holds values such as '{value}', numbers written with a decimal comma: SparkAnomaly reads '.' as the decimal separator, so write them as '{value.Replace(',', '.')}'.";
        }
        return "";
    }

    /// <summary>
    /// Which columns are numeric, from the first <see cref="SampleRows"/> rows: a column is numeric when its
    /// first non-missing cell is. <paramref name="decimalComma"/> is the first non-numeric cell that would be a
    /// number with '.' for its one ',' (column index and text), for the hint when no channel is found.
    /// </summary>
    private static bool[] SampleNumeric(string path, ReadContext ctx, int headerCount, out int sampled, out (int Column, string Value)? decimalComma)
    {
        decimalComma = null;
        var decided = new bool[headerCount];
        var numeric = new bool[headerCount];
        using var stream = Open(path);
        var tok = new CsvTokenizer(stream, path);
        tok.Delimiter = Delimiter(ctx, tok, path);
        tok.Next();
        sampled = 0;
        while (sampled < SampleRows && tok.Next())
        {
            sampled++;
            int n = Math.Min(tok.FieldCount, headerCount);
            for (int i = 0; i < n; i++)
            {
                if (decided[i])
                {
                    continue;
                }
                var state = TextValues.ParseChannel(tok.Field(i), out _);
                if (state != TextValues.CellState.Missing)
                {
                    decided[i] = true;
                    numeric[i] = state == TextValues.CellState.Ok;
                    if (state == TextValues.CellState.Invalid && decimalComma is null && LooksLikeDecimalComma(tok.Field(i)))
                    {
                        decimalComma = (i, Encoding.UTF8.GetString(TextValues.Trim(tok.Field(i))));
                    }
                }
            }
        }
        for (int i = 0; i < headerCount; i++)
        {
            numeric[i] |= !decided[i];
        }
        return numeric;
    }

    /// <summary>True for text like <c>1,5</c>: one comma, and a number once it is a '.'.</summary>
    private static bool LooksLikeDecimalComma(ReadOnlySpan<byte> field)
    {
        int comma = field.IndexOf((byte)',');
        if (comma < 0 || field[(comma + 1)..].Contains((byte)','))
        {
            return false;
        }
        Span<byte> copy = field.Length <= 64 ? stackalloc byte[field.Length] : new byte[field.Length];
        field.CopyTo(copy);
        copy[comma] = (byte)'.';
        return TextValues.ParseChannel(copy, out _) == TextValues.CellState.Ok;
    }
}
