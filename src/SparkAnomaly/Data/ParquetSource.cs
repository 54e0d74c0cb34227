using System.Text;
using Parquet;
using Parquet.Schema;

namespace SparkAnomaly.Data;

/// <summary>Reads one Parquet file (or part file) into the series of a <see cref="ReadContext"/>, a row group at a time.</summary>
internal static class ParquetSource
{
    public static long Read(ReadContext ctx, string path, IReadOnlyList<KeyValuePair<string, string>> partitions, bool requireRows)
    {
        var progress = new Progress();
        // The message is built when reading fails, so it names what was being read then.
        return UntrustedParquet.Read(
            () => ReadAsync(ctx, path, partitions, requireRows, progress),
            reason => $"'{path}' is not a readable Parquet file (failed reading {progress.Where}: {reason}). The file may be truncated, corrupt or not Parquet: rewrite it, or remove it from the input directory.");
    }

    /// <summary>
    /// Refuses SparkAnomaly's own model and scores files, recognised by their footer metadata: both are
    /// Parquet with numeric columns, so without this the reader would train on a model's parameter
    /// values or on scores and contributions, with only a warning about the ignored text columns.
    /// </summary>
    private static void RefuseOwnOutput(string path, IReadOnlyDictionary<string, string>? meta)
    {
        if (meta is null)
        {
            return;
        }
        if (meta.ContainsKey(Scoring.OutputFiles.ModelMarker))
        {
            throw new SparkAnomalyException(
                $"'{path}' is a SparkAnomaly model file (written by 'sparkanomaly train'), not data. Pass it as --model to score with it, and give the data with --data.");
        }
        if (meta.ContainsKey(Scoring.OutputFiles.ScoresMarker))
        {
            throw new SparkAnomalyException(
                $"'{path}' is a SparkAnomaly scores file (written by 'sparkanomaly score'), not data: score output is not training data. Pass it to 'evaluate --scores' or 'inspect', and give the data itself with --data.");
        }
    }

    /// <summary>What was being read when Parquet.Net failed, for the message.</summary>
    private sealed class Progress
    {
        public string Where { get; set; } = "the footer";
    }

    private static async Task<long> ReadAsync(ReadContext ctx, string path, IReadOnlyList<KeyValuePair<string, string>> partitions, bool requireRows, Progress progress)
    {
        var file = new InputFile(path, isParquet: true);
        int fileIndex = ctx.AddFile(file);
        await using var stream = File.OpenRead(path);
        await using var reader = await UntrustedParquet.OpenAsync(stream).ConfigureAwait(false);
        RefuseOwnOutput(path, reader.CustomMetadata);
        var fields = reader.Schema.DataFields.Where(f => !f.IsArray).ToList();
        var names = fields.Select(f => f.Name).ToList();
        int fileColumns = names.Count;
        names.AddRange(partitions.Select(p => p.Key));
        var map = ColumnMap.Resolve(ctx, path, names, i => IsNumeric(fields[i].ClrType), fileColumns);

        if (map.Time >= 0 && map.Time < fileColumns)
        {
            var tf = fields[map.Time];
            var mode = TimeModeOf(tf);
            if (mode == TimeMode.Unknown)
            {
                throw new SparkAnomalyException(
                    $"'{path}', column '{tf.Name}': timestamps of type {tf.ClrType.Name} are not supported. Store integers (steps or epoch), a Parquet TIMESTAMP, or ISO 8601 text, or pass --time-column for another column.");
            }
            if (mode != TimeMode.Steps)
            {
                if (ctx.TimeMode == TimeMode.Unknown)
                {
                    ctx.TimeMode = mode;
                    ctx.TimeModeOrigin = $"'{path}' column '{tf.Name}' of type {tf.ClrType.Name}";
                }
                else if (ctx.TimeMode != mode)
                {
                    throw new SparkAnomalyException(
                        $"'{path}', column '{tf.Name}': timestamps of type {tf.ClrType.Name} do not match the earlier ones ({ctx.TimeModeOrigin}). Write every file with the same timestamp type.");
                }
            }
        }

        long fileRow = 0;
        var scratch = new byte[256];
        SeriesBuilder? fixedSeries = map.Series < 0 ? ctx.GetSeries(CsvSource.SingleSeriesName(ctx)) : null;
        long fileRows = reader.RowGroups.Sum(r => r.RowCount);
        int channels = map.Channels.Length;
        var missing = ctx.Options.Missing;
        // One Column per file column, its buffers reused from row group to row group (sized to the largest).
        var cache = new Column?[names.Count];
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            file.RowGroupStarts.Add(fileRow + 1);
            using var rg = reader.OpenRowGroupReader(g);
            if (rg.RowCount > int.MaxValue)
            {
                throw new SparkAnomalyException($"'{path}' row group {g} has {rg.RowCount} rows, more than this reader handles. Rewrite the file with smaller row groups.");
            }
            int n = (int)rg.RowCount;
            if (n == 0)
            {
                continue;
            }
            async Task<Column> Load(int col)
            {
                if (col >= fileColumns)
                {
                    return cache[col] ??= Column.Constant(partitions[col - fileColumns].Value);
                }
                progress.Where = $"row group {g}, column '{names[col]}'";
                return cache[col] = await Column.ReadAsync(rg, fields[col], n, cache[col]).ConfigureAwait(false);
            }
            if (map.Label < 0 && map.Split < 0 && CanStream(map, fields, fileColumns)
                && await StreamRowsAsync(ctx, rg, g, fields, map, fixedSeries, n, fileRow, fileRows, fileIndex, progress, Load).ConfigureAwait(false))
            {
                fileRow += n;
                continue;
            }
            Column? timeCol = map.Time >= 0 ? await Load(map.Time).ConfigureAwait(false) : null;
            var chCols = new Column[channels];
            for (int c = 0; c < channels; c++)
            {
                chCols[c] = await Load(map.Channels[c]).ConfigureAwait(false);
            }
            Column? labelCol = map.Label >= 0 ? await Load(map.Label).ConfigureAwait(false) : null;
            Column? splitCol = map.Split >= 0 ? await Load(map.Split).ConfigureAwait(false) : null;
            // The series ids last: Parquet.Net makes a string per row, and read last they are still young
            // when the rows are appended and released right after, instead of outliving the channel reads.
            Column? seriesCol = map.Series >= 0 ? await Load(map.Series).ConfigureAwait(false) : null;

            int from = 0;
            if (labelCol is null && splitCol is null && CanCopy(seriesCol, timeCol, chCols, n))
            {
                from = CopyRows(ctx, fixedSeries, seriesCol, timeCol, chCols, n, fileRow, fileRows, fileIndex);
            }
            SeriesBuilder? last = null;
            string? lastId = null;
            for (int i = from; i < n; i++)
            {
                long row = fileRow + i + 1;
                string Where(int col) => $"'{path}' row {row} (row group {g}), column '{names[col]}'";
                SeriesBuilder series;
                if (fixedSeries is not null)
                {
                    series = fixedSeries;
                }
                else
                {
                    string? id = seriesCol!.Text(i);
                    if (string.IsNullOrEmpty(id))
                    {
                        throw new SparkAnomalyException($"{Where(map.Series)}: the series id is empty. Give every row a series id or pass --series-column.");
                    }
                    if (!ReferenceEquals(id, lastId) && id != lastId)
                    {
                        last = ctx.GetSeries(id);
                        lastId = id;
                    }
                    series = last!;
                }
                long t;
                if (timeCol is not null)
                {
                    t = Time(ctx, timeCol, i, scratch, path, row, names[map.Time], Where(map.Time));
                }
                else
                {
                    t = series.NextStep++;
                }
                if (series.IsFull)
                {
                    series.GrowWithin(fileRows - row + 1);
                }
                int r = series.AddRow(t, ReadContext.Origin(fileIndex, row));
                var values = series.RowValues(r);
                for (int c = 0; c < channels; c++)
                {
                    var state = chCols[c].Channel(i, scratch, out values[c]);
                    if (state == TextValues.CellState.Ok)
                    {
                        continue;
                    }
                    if (state == TextValues.CellState.Invalid)
                    {
                        throw new SparkAnomalyException($"{Where(map.Channels[c])}: value {TextValues.Show(chCols[c].Text(i))} is not a number. Fix the value, or leave the column out with --channels.");
                    }
                    if (missing == MissingPolicy.Reject)
                    {
                        throw new SparkAnomalyException($"{Where(map.Channels[c])}: value {chCols[c].Show(i)} is missing (null), NaN, infinite or beyond ±1e30. Fix the data or pass --missing interpolate|drop.");
                    }
                    series.HasMissing = true;
                }
                if (labelCol is not null)
                {
                    if (!labelCol.Label(i, scratch, out sbyte label))
                    {
                        throw new SparkAnomalyException($"{Where(map.Label)}: label {labelCol.Show(i)} is not 0, 1 or empty. Use 0 (normal), 1 (anomaly) or null, or pass --label-column for another column.");
                    }
                    series.SetLabel(r, label);
                }
                if (splitCol is not null)
                {
                    if (!splitCol.Split(i, scratch, out var split))
                    {
                        throw new SparkAnomalyException($"{Where(map.Split)}: split {splitCol.Show(i)} is not train, test or empty. Use train, test or null, or pass --split-column for another column.");
                    }
                    series.SetSplit(r, split);
                }
            }
            seriesCol?.ReleaseTexts(n);
            fileRow += n;
        }
        if (fileRow == 0 && requireRows)
        {
            throw new SparkAnomalyException($"'{path}' has no rows (its schema has columns {string.Join(", ", names)}). Point --data at a file with data.");
        }
        ctx.TotalRows += fileRow;
        return fileRow;
    }

    /// <summary>
    /// Whether a file's row groups may try <see cref="StreamRowsAsync"/>: float channels without nulls,
    /// a text series id (or none) and an integer or timestamp time column (or none), all in the file
    /// (not partition values).
    /// </summary>
    private static bool CanStream(ColumnMap map, List<DataField> fields, int fileColumns)
    {
        foreach (int c in map.Channels)
        {
            if (c >= fileColumns || fields[c].ClrType != typeof(float) || fields[c].IsNullable || fields[c].MaxRepetitionLevel > 0)
            {
                return false;
            }
        }
        if (map.Series >= fileColumns || (map.Series >= 0 && fields[map.Series].ClrType != typeof(ReadOnlyMemory<char>) && fields[map.Series].ClrType != typeof(string)))
        {
            return false;
        }
        return map.Time < 0 || (map.Time < fileColumns && TimeModeOf(fields[map.Time]) is TimeMode.Integer or TimeMode.DateTime);
    }

    /// <summary>
    /// The row group's rows appended one channel column at a time, with no per-row staging: the series
    /// ids and times are read first and planned as runs of rows with the same id, room is made in each
    /// series, each channel is read (Parquet.Net's own buffer, no copy of ours), checked and scattered
    /// into the rows past each series' end, and only when every channel has passed are the rows
    /// appended. Returns false, having appended nothing, when a value needs a message (a null, an empty
    /// id, a non-finite or huge value): the caller then reads the row group the row-by-row way, which
    /// reports it as before.
    /// </summary>
    private static async Task<bool> StreamRowsAsync(ReadContext ctx, ParquetRowGroupReader rg, int g, List<DataField> fields, ColumnMap map, SeriesBuilder? fixedSeries,
        int n, long fileRow, long fileRows, int fileIndex, Progress progress, Func<int, Task<Column>> load)
    {
        // Times: Parquet.Net's int64 buffer as is, or the widened copy of the usual reader.
        Parquet.Data.RawColumnData<long>? rawTimes = null;
        Column? timeCol = null;
        try
        {
            if (map.Time >= 0)
            {
                var tf = fields[map.Time];
                if (tf.ClrType == typeof(long) && !tf.IsNullable)
                {
                    progress.Where = $"row group {g}, column '{tf.Name}'";
                    var raw = await rg.ReadRawColumnDataBaseAsync(tf, default).ConfigureAwait(false);
                    rawTimes = raw as Parquet.Data.RawColumnData<long>;
                    if (rawTimes is null)
                    {
                        // Not the int64 buffer we asked for: hand the pooled buffer back and take the row path.
                        (raw as IDisposable)?.Dispose();
                        return false;
                    }
                    if (rawTimes.Values.Length != n)
                    {
                        return false;
                    }
                }
                else
                {
                    timeCol = await load(map.Time).ConfigureAwait(false);
                    if (timeCol.Nulls is not null || (timeCol.Micros is null && timeCol.Integers is null))
                    {
                        return false;
                    }
                }
            }
            var runs = fixedSeries is not null
                ? [new Run(fixedSeries, 0, n)]
                : await SeriesRunsAsync(ctx, rg, g, fields[map.Series], n, progress, load, map.Series).ConfigureAwait(false);
            if (runs is null)
            {
                return false;
            }

            // Room in each series, and where each run's rows will go.
            var pending = new Dictionary<SeriesBuilder, int>();
            // Each series' rows in this row group, summed in one pass: with many interleaved series, a scan of the
            // remaining runs per series would cost series × runs.
            var totals = new Dictionary<SeriesBuilder, int>();
            foreach (var run in runs)
            {
                totals[run.Series] = totals.GetValueOrDefault(run.Series) + run.End - run.Start;
            }
            var starts = new int[runs.Count];
            for (int k = 0; k < runs.Count; k++)
            {
                var run = runs[k];
                pending.TryGetValue(run.Series, out int before);
                if (before == 0)
                {
                    run.Series.ReserveWithin(totals[run.Series], fileRows - fileRow - run.Start);
                }
                starts[k] = run.Series.Count + before;
                pending[run.Series] = before + run.End - run.Start;
            }

            int channels = map.Channels.Length;
            for (int c = 0; c < channels; c++)
            {
                var f = fields[map.Channels[c]];
                progress.Where = $"row group {g}, column '{f.Name}'";
                using var raw = await rg.ReadRawColumnDataBaseAsync(f, default).ConfigureAwait(false);
                if (raw is not Parquet.Data.RawColumnData<float> floats || floats.Values.Length != n || !AllUsable(floats.Values))
                {
                    return false;
                }
                var src = floats.Values;
                for (int k = 0; k < runs.Count; k++)
                {
                    var run = runs[k];
                    int rows = run.End - run.Start;
                    var values = run.Series.Values(starts[k], rows);
                    var from = src.Slice(run.Start, rows);
                    for (int r = 0, d = c; r < from.Length; r++, d += channels)
                    {
                        values[d] = from[r];
                    }
                }
            }

            // Every channel passed: append the rows.
            ReadOnlySpan<long> times = rawTimes is not null ? rawTimes.Values : timeCol?.Micros ?? timeCol?.Integers;
            foreach (var run in runs)
            {
                AppendRun(run, fileRows - fileRow, times.IsEmpty ? default : times.Slice(run.Start, run.End - run.Start), ReadContext.Origin(fileIndex, fileRow + run.Start + 1));
            }
            return true;
        }
        finally
        {
            rawTimes?.Dispose();
        }
    }

    /// <summary>Runs of equal ids over <paramref name="ids"/>; null when one is null or empty.</summary>
    private static List<Run>? IdRuns(ReadContext ctx, ReadOnlySpan<ReadOnlyMemory<char>> ids, ReadOnlySpan<int> levels, int maxLevel, int n)
    {
        if (ids.Length != n)
        {
            return null;
        }
        foreach (int level in levels)
        {
            if (level != maxLevel)
            {
                return null;
            }
        }
        var runs = new List<Run>();
        int i = 0;
        while (i < n)
        {
            var id = ids[i].Span;
            if (id.IsEmpty)
            {
                return null;
            }
            int j = i + 1;
            while (j < n && ids[j].Span.SequenceEqual(id))
            {
                j++;
            }
            runs.Add(new Run(ctx.GetSeries(id.ToString()), i, j));
            i = j;
        }
        return runs;
    }

    /// <summary>Rows [Start, End) of a row group that belong to one series, in file order.</summary>
    private readonly record struct Run(SeriesBuilder Series, int Start, int End);

    /// <summary>
    /// The row group's series ids as runs of equal ids, one string per run (from Parquet.Net's character
    /// buffer when the column is read as text memory); null when an id is null or empty.
    /// </summary>
    private static async Task<List<Run>?> SeriesRunsAsync(ReadContext ctx, ParquetRowGroupReader rg, int g, DataField f, int n, Progress progress, Func<int, Task<Column>> load, int col)
    {
        if (f.ClrType == typeof(ReadOnlyMemory<char>))
        {
            progress.Where = $"row group {g}, column '{f.Name}'";
            using var raw = await rg.ReadRawColumnDataBaseAsync(f, default).ConfigureAwait(false);
            if (raw is not Parquet.Data.RawColumnData<ReadOnlyMemory<char>> ids)
            {
                return null;
            }
            try
            {
                // A required column has no definition levels (Parquet.Net throws when asked for them).
                return IdRuns(ctx, ids.Values, f.MaxDefinitionLevel > 0 ? raw.DefinitionLevels : ReadOnlySpan<int>.Empty, f.MaxDefinitionLevel, n);
            }
            finally
            {
                // The values array goes back to a shared pool, which does not clear it: cleared here, the
                // row group's one-per-row character arrays die young instead of living on in the pool.
                ids.Values.Clear();
            }
        }
        var column = await load(col).ConfigureAwait(false);
        var texts = column.Texts;
        if (texts is null)
        {
            return null;
        }
        try
        {
            var runs = TextRuns(ctx, texts, n, out int end);
            return end == n ? runs : null;
        }
        finally
        {
            column.ReleaseTexts(n);
        }
    }

    /// <summary>
    /// Whether a row group can take the column-wise path of <see cref="CopyRows"/>: text series ids (or
    /// none), integer or timestamp times without nulls (or none), and float channels without nulls whose
    /// values are all finite and within ±<see cref="TextValues.HugeLimit"/>, so that no row needs a message.
    /// Anything else (and any row group with a value to report) takes the row-by-row path.
    /// </summary>
    private static bool CanCopy(Column? seriesCol, Column? timeCol, Column[] chCols, int n)
    {
        if (seriesCol is not null && seriesCol.Texts is null)
        {
            return false;
        }
        if (timeCol is not null && (timeCol.Nulls is not null || (timeCol.Micros is null && timeCol.Integers is null)))
        {
            return false;
        }
        foreach (var c in chCols)
        {
            if (c.Floats is null || c.Nulls is not null || !AllUsable(c.Floats.AsSpan(0, n)))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Every value finite and |v| ≤ HugeLimit (NaN fails the comparison).</summary>
    private static bool AllUsable(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && values.Length >= System.Numerics.Vector<float>.Count)
        {
            var limit = new System.Numerics.Vector<float>(TextValues.HugeLimit);
            var v = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(values);
            foreach (var x in v)
            {
                if (!System.Numerics.Vector.LessThanOrEqualAll(System.Numerics.Vector.Abs(x), limit))
                {
                    return false;
                }
            }
            i = v.Length * System.Numerics.Vector<float>.Count;
        }
        for (; i < values.Length; i++)
        {
            float x = values[i];
            if (!(float.IsFinite(x) && Math.Abs(x) <= TextValues.HugeLimit))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Appends a row group's rows column by column, a run of rows with the same series id at a time,
    /// straight into the series buffers. Returns the row where it stopped: <paramref name="n"/>, or the
    /// first row of a run whose series id is missing (the row-by-row path reports it).
    /// </summary>
    private static int CopyRows(ReadContext ctx, SeriesBuilder? fixedSeries, Column? seriesCol, Column? timeCol, Column[] chCols, int n, long fileRow, long fileRows, int fileIndex)
    {
        long[]? times = timeCol?.Micros ?? timeCol?.Integers;
        int channels = chCols.Length;
        int end = n;
        var runs = fixedSeries is not null ? [new Run(fixedSeries, 0, n)] : TextRuns(ctx, seriesCol!.Texts!, n, out end);
        foreach (var run in runs)
        {
            int k = run.End - run.Start;
            int start = AppendRun(run, fileRows - fileRow, times is null ? default : times.AsSpan(run.Start, k), ReadContext.Origin(fileIndex, fileRow + run.Start + 1));
            var values = run.Series.Values(start, k);
            for (int c = 0; c < channels; c++)
            {
                var src = chCols[c].Floats.AsSpan(run.Start, k);
                for (int r = 0, d = c; r < src.Length; r++, d += channels)
                {
                    values[d] = src[r];
                }
            }
        }
        return end;
    }

    /// <summary>
    /// Appends a run's rows to its series: their times (<paramref name="times"/>, or the series' next steps when it
    /// is empty, as with no time column) and their origins; returns the first new row. <paramref name="rowsLeft"/>
    /// counts the file's rows from the row group's first.
    /// </summary>
    private static int AppendRun(Run run, long rowsLeft, ReadOnlySpan<long> times, long origin)
    {
        var series = run.Series;
        int rows = run.End - run.Start;
        int start = series.AppendRows(rows, rowsLeft - run.Start);
        if (!times.IsEmpty)
        {
            series.SetTimes(start, times);
        }
        else
        {
            series.SetSteps(start, rows, series.NextStep);
            series.NextStep += rows;
        }
        series.SetOrigin(start, rows, origin);
        return start;
    }

    /// <summary>
    /// Runs of equal text ids (compared by reference, then by value) from row 0 up to the first null or empty id,
    /// whose row is <paramref name="end"/> (<paramref name="n"/> when there is none).
    /// </summary>
    private static List<Run> TextRuns(ReadContext ctx, string?[] texts, int n, out int end)
    {
        var runs = new List<Run>();
        int i = 0;
        while (i < n)
        {
            string? id = texts[i];
            if (string.IsNullOrEmpty(id))
            {
                end = i;
                return runs;
            }
            int j = i + 1;
            while (j < n && (ReferenceEquals(texts[j], id) || texts[j] == id))
            {
                j++;
            }
            runs.Add(new Run(ctx.GetSeries(id), i, j));
            i = j;
        }
        end = n;
        return runs;
    }

    private static long Time(ReadContext ctx, Column col, int i, byte[] scratch, string path, long row, string name, string where)
    {
        if (col.IsNull(i))
        {
            throw new SparkAnomalyException($"{where}: the timestamp is null. Give every row a timestamp, or pass --time-column for another column.");
        }
        if (col.Micros is not null)
        {
            return col.Micros[i];
        }
        if (col.Integers is not null)
        {
            return col.Integers[i];
        }
        var text = col.Utf8(i, scratch);
        return CsvSource.ParseTime(ctx, text, path, row, 0, name);
    }

    private static TimeMode TimeModeOf(DataField f)
    {
        var t = f.ClrType;
        if (t == typeof(DateTime) || t == typeof(DateTimeOffset))
        {
            return TimeMode.DateTime;
        }
        if (IsInteger(t))
        {
            return TimeMode.Integer;
        }
        if (t == typeof(string) || t == typeof(ReadOnlyMemory<char>))
        {
            return TimeMode.Steps; // decided per value, like CSV text
        }
        return TimeMode.Unknown;
    }

    private static bool IsInteger(Type t) =>
        t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(sbyte)
        || t == typeof(byte) || t == typeof(ushort) || t == typeof(uint) || t == typeof(ulong);

    private static bool IsNumeric(Type t) => IsInteger(t) || t == typeof(float) || t == typeof(double) || t == typeof(decimal);

    /// <summary>One column of one row group, converted to a few plain shapes.</summary>
    private sealed class Column
    {
        private string? _constant;

        public float[]? Floats { get; private set; }

        /// <summary>Double and decimal columns.</summary>
        public double[]? Numbers { get; private set; }

        public long[]? Integers { get; private set; }

        public long[]? Micros { get; private set; }

        public string?[]? Texts { get; private set; }

        public bool[]? Nulls { get; private set; }

        public string TypeName { get; private set; } = "";

        public static Column Constant(string value) => new() { _constant = value, TypeName = "partition" };

        public bool IsNull(int i) => Nulls is not null && Nulls[i];

        /// <summary>Drops the references to a row group's strings, so that they can be collected young.</summary>
        public void ReleaseTexts(int n)
        {
            if (Texts is not null)
            {
                Array.Clear(Texts, 0, Math.Min(n, Texts.Length));
            }
        }

        public string? Text(int i)
        {
            if (_constant is not null)
            {
                return _constant;
            }
            if (IsNull(i))
            {
                return null;
            }
            if (Texts is not null)
            {
                return Texts[i];
            }
            if (Integers is not null)
            {
                return Integers[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            if (Numbers is not null)
            {
                return Numbers[i].ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            }
            if (Floats is not null)
            {
                return Floats[i].ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            }
            if (Micros is not null)
            {
                return DateTime.UnixEpoch.AddTicks(Micros[i] * 10).ToString("o", System.Globalization.CultureInfo.InvariantCulture);
            }
            return null;
        }

        public string Show(int i) => IsNull(i) ? "null" : TextValues.Show(Text(i));

        public ReadOnlySpan<byte> Utf8(int i, byte[] scratch)
        {
            string? s = Text(i);
            if (s is null)
            {
                return ReadOnlySpan<byte>.Empty;
            }
            if (Encoding.UTF8.GetMaxByteCount(s.Length) > scratch.Length)
            {
                return Encoding.UTF8.GetBytes(s);
            }
            int len = Encoding.UTF8.GetBytes(s, scratch);
            return scratch.AsSpan(0, len);
        }

        public TextValues.CellState Channel(int i, byte[] scratch, out float value)
        {
            if (IsNull(i))
            {
                value = float.NaN;
                return TextValues.CellState.Missing;
            }
            if (Floats is not null)
            {
                value = Floats[i];
                if (float.IsFinite(value) && Math.Abs(value) <= TextValues.HugeLimit)
                {
                    return TextValues.CellState.Ok;
                }
                value = float.NaN;
                return TextValues.CellState.Missing;
            }
            if (Numbers is not null)
            {
                double d = Numbers[i];
                if (double.IsFinite(d) && Math.Abs(d) <= TextValues.HugeLimit)
                {
                    value = (float)d;
                    return TextValues.CellState.Ok;
                }
                value = float.NaN;
                return TextValues.CellState.Missing;
            }
            if (Integers is not null)
            {
                value = Integers[i];
                return TextValues.CellState.Ok;
            }
            return TextValues.ParseChannel(Utf8(i, scratch), out value);
        }

        public bool Label(int i, byte[] scratch, out sbyte label)
        {
            label = Series.NoLabel;
            if (IsNull(i))
            {
                return true;
            }
            if (Integers is not null)
            {
                long v = Integers[i];
                label = (sbyte)v;
                return v is 0 or 1;
            }
            if (Numbers is not null || Floats is not null)
            {
                double v = Numbers is not null ? Numbers[i] : Floats![i];
                if (double.IsNaN(v))
                {
                    return true; // pandas writes a missing integer label as NaN
                }
                label = v == 1 ? (sbyte)1 : (sbyte)0;
                return v is 0 or 1;
            }
            return TextValues.TryParseLabel(Utf8(i, scratch), out label);
        }

        public bool Split(int i, byte[] scratch, out RowSplit split)
        {
            split = RowSplit.Unspecified;
            return IsNull(i) || TextValues.TryParseSplit(Utf8(i, scratch), out split);
        }

        // Buffers kept from one row group to the next: the raw values Parquet.Net decodes into, their
        // nullable form, and the widened copy. Arrays may be longer than the row group: index below n only.
        private object? _raw;
        private object? _rawNullable;
        private object? _wide;

        private static T[] Buffer<T>(ref object? slot, int n)
        {
            if (slot is T[] a && a.Length >= n)
            {
                return a;
            }
            var b = new T[n];
            slot = b;
            return b;
        }

        public static async Task<Column> ReadAsync(ParquetRowGroupReader rg, DataField f, int n, Column? reuse)
        {
            var col = reuse ?? new Column { TypeName = f.ClrType.Name };
            col.Nulls = null;
            var t = f.ClrType;
            if (t == typeof(float))
            {
                col.Floats = await Values<float>(rg, f, n, col).ConfigureAwait(false);
            }
            else if (t == typeof(double))
            {
                col.Numbers = await Values<double>(rg, f, n, col).ConfigureAwait(false);
            }
            else if (t == typeof(decimal))
            {
                col.Numbers = Widen(await Values<decimal>(rg, f, n, col).ConfigureAwait(false), n, col, x => (double)x);
            }
            else if (t == typeof(int))
            {
                col.Integers = Widen(await Values<int>(rg, f, n, col).ConfigureAwait(false), n, col, x => (long)x);
            }
            else if (t == typeof(long))
            {
                col.Integers = await Values<long>(rg, f, n, col).ConfigureAwait(false);
            }
            else if (t == typeof(short))
            {
                col.Integers = Widen(await Values<short>(rg, f, n, col).ConfigureAwait(false), n, col, x => (long)x);
            }
            else if (t == typeof(sbyte))
            {
                col.Integers = Widen(await Values<sbyte>(rg, f, n, col).ConfigureAwait(false), n, col, x => (long)x);
            }
            else if (t == typeof(byte))
            {
                col.Integers = Widen(await Values<byte>(rg, f, n, col).ConfigureAwait(false), n, col, x => (long)x);
            }
            else if (t == typeof(ushort))
            {
                col.Integers = Widen(await Values<ushort>(rg, f, n, col).ConfigureAwait(false), n, col, x => (long)x);
            }
            else if (t == typeof(uint))
            {
                col.Integers = Widen(await Values<uint>(rg, f, n, col).ConfigureAwait(false), n, col, x => (long)x);
            }
            else if (t == typeof(ulong))
            {
                col.Integers = Widen(await Values<ulong>(rg, f, n, col).ConfigureAwait(false), n, col, x => unchecked((long)x));
            }
            else if (t == typeof(bool))
            {
                col.Integers = Widen(await Values<bool>(rg, f, n, col).ConfigureAwait(false), n, col, x => x ? 1L : 0L);
            }
            else if (t == typeof(DateTime))
            {
                col.Micros = Widen(await Values<DateTime>(rg, f, n, col).ConfigureAwait(false), n, col, TextValues.ToUnixMicros);
            }
            else if (t == typeof(DateTimeOffset))
            {
                col.Micros = Widen(await Values<DateTimeOffset>(rg, f, n, col).ConfigureAwait(false), n, col, x => TextValues.ToUnixMicros(x.UtcDateTime));
            }
            else if (t == typeof(string) || t == typeof(ReadOnlyMemory<char>))
            {
                var s = Buffer<string?>(ref col._raw, n);
                await rg.ReadAsync(f, s.AsMemory(0, n), null, default).ConfigureAwait(false);
                col.Texts = s;
            }
            else
            {
                throw new SparkAnomalyException(
                    $"Column '{f.Name}' has Parquet type {t.Name}, which cannot be read as a series id, timestamp, channel, label or split. Choose other columns (--channels, --series-column, --time-column).");
            }
            return col;
        }

        private static async Task<T[]> Values<T>(ParquetRowGroupReader rg, DataField f, int n, Column col)
            where T : struct
        {
            if (!f.IsNullable)
            {
                var a = Buffer<T>(ref col._raw, n);
                await rg.ReadAsync<T>(f, a.AsMemory(0, n), null, default).ConfigureAwait(false);
                return a;
            }
            var b = Buffer<T?>(ref col._rawNullable, n);
            await rg.ReadAsync<T>(f, b.AsMemory(0, n), null, default).ConfigureAwait(false);
            var values = Buffer<T>(ref col._raw, n);
            bool[]? nulls = null;
            for (int i = 0; i < n; i++)
            {
                if (b[i] is T v)
                {
                    values[i] = v;
                }
                else
                {
                    values[i] = default;
                    nulls ??= new bool[n];
                    nulls[i] = true;
                }
            }
            col.Nulls = nulls;
            return values;
        }

        private static TOut[] Widen<TIn, TOut>(TIn[] a, int n, Column col, Func<TIn, TOut> f)
        {
            var r = Buffer<TOut>(ref col._wide, n);
            for (int i = 0; i < n; i++)
            {
                r[i] = f(a[i]);
            }
            return r;
        }
    }
}
