namespace SparkAnomaly.Data;

/// <summary>
/// Collects the rows of one series in input order (growing arrays, row-major values with NaN for
/// missing cells), then <see cref="Build"/> sorts, checks duplicates, applies the missing-value policy
/// and returns the <see cref="Series"/>.
/// </summary>
internal sealed class SeriesBuilder
{
    private readonly int _channels;
    // Rows the buffers have room for.
    private int _capacity = 256;
    // Timestamps as runs of constant step (a few entries per regularly sampled series) until the input
    // proves irregular (more than 1024 runs and more than one run per 8 rows), or rows are sorted or
    // dropped; then one long per row in _timestamps.
    private TimeRuns? _runs = new();
    private long[]? _timestamps;
    private float[] _values;
    // Where each row came from (file and row), for messages. Kept as runs of consecutive origins while
    // rows arrive in runs (one run per Parquet row group, or per stretch of a sorted CSV): a few entries
    // per series instead of 8 bytes per row. Switches to one entry per row (_origins) when the input
    // interleaves series finely, or when rows are sorted or dropped.
    private readonly List<int> _runRow = new();
    private readonly List<long> _runOrigin = new();
    private long[]? _origins;
    private sbyte[]? _labels;
    private RowSplit[]? _splits;
    private int _count;

    public SeriesBuilder(string id, int channels)
    {
        Id = id;
        _channels = channels;
        _values = new float[256 * channels];
    }

    public string Id { get; }

    public int Count => _count;

    /// <summary>Next integer step when the input has no time column.</summary>
    public long NextStep { get; set; }

    public bool HasMissing { get; set; }

    /// <summary>Appends a row and returns its index; fill its values through <see cref="RowValues"/>.</summary>
    public int AddRow(long timestamp, long origin)
    {
        if (_count == _capacity)
        {
            Grow(_count + 1);
        }
        if (_runs is not null)
        {
            _runs.Append(timestamp);
            CheckRuns(_count + 1);
        }
        else
        {
            _timestamps![_count] = timestamp;
        }
        SetOrigin(_count, 1, origin);
        return _count++;
    }

    public bool IsFull => _count == _capacity;

    /// <summary>
    /// Grows a full builder, but to no more than the rows the input has left: when a series runs to the end
    /// of a Parquet file (one series per file, or series stored one after another) it ends exactly full, and
    /// <see cref="Build"/> needs no copy.
    /// </summary>
    public void GrowWithin(long rowsLeft)
    {
        long size = Math.Min(Math.Max((long)_capacity * 2, _count + 1L), _count + Math.Max(rowsLeft, 1L));
        Grow((int)Math.Min(size, int.MaxValue), exact: true);
    }

    /// <summary>Reserves room for <paramref name="extra"/> more rows (Parquet knows row-group sizes).</summary>
    public void Reserve(int extra)
    {
        if (_count + extra > _capacity)
        {
            Grow(_count + extra);
        }
    }

    public Span<float> RowValues(int row) => _values.AsSpan(row * _channels, _channels);

    /// <summary>
    /// Appends <paramref name="rows"/> rows at once and returns the index of the first; the caller fills
    /// their timestamps, origins and values through <see cref="SetTimes"/> or <see cref="SetSteps"/>,
    /// <see cref="SetOrigin"/> and <see cref="Values"/>. Grows like <see cref="GrowWithin"/>: doubling, but
    /// never past the rows the input has left (<paramref name="rowsLeft"/>, counting these).
    /// </summary>
    public int AppendRows(int rows, long rowsLeft)
    {
        ReserveWithin(rows, rowsLeft);
        int start = _count;
        _count += rows;
        return start;
    }

    /// <summary>
    /// Makes room for <paramref name="rows"/> more rows without appending them, growing like
    /// <see cref="AppendRows"/>; the values of rows past <see cref="Count"/> may then be written through
    /// <see cref="Values"/> ahead of the <see cref="AppendRows"/> that adds them.
    /// </summary>
    public void ReserveWithin(int rows, long rowsLeft)
    {
        if ((long)_count + rows > _capacity)
        {
            long size = Math.Max((long)_capacity * 2, (long)_count + rows);
            size = Math.Min(size, _count + Math.Max(rowsLeft, rows));
            Grow((int)Math.Min(size, int.MaxValue), exact: true);
        }
    }

    /// <summary>Sets the timestamps of rows [start, start + times length), the newest appended, in order.</summary>
    public void SetTimes(int start, ReadOnlySpan<long> times)
    {
        if (_runs is not null)
        {
            if (_runs.Count != start)
            {
                throw new InvalidOperationException($"series '{Id}': timestamps must be set in row order (row {start}, expected {_runs.Count})");
            }
            _runs.Append(times);
            CheckRuns(start + times.Length);
            return;
        }
        times.CopyTo(_timestamps.AsSpan(start, times.Length));
    }

    /// <summary>Sets the timestamps of rows [start, start + rows) to first, first + 1, … (no time column).</summary>
    public void SetSteps(int start, int rows, long first)
    {
        if (_runs is not null)
        {
            if (_runs.Count != start)
            {
                throw new InvalidOperationException($"series '{Id}': timestamps must be set in row order (row {start}, expected {_runs.Count})");
            }
            _runs.AppendSteps(first, rows);
            CheckRuns(start + rows);
            return;
        }
        var ts = _timestamps.AsSpan(start, rows);
        for (int r = 0; r < rows; r++)
        {
            ts[r] = first + r;
        }
    }

    /// <summary>Switches to one timestamp per row when the runs stop paying for themselves.</summary>
    private void CheckRuns(int rows)
    {
        if (_runs!.RunCount > 1024 && _runs.RunCount > rows / 8)
        {
            MaterializeTimes();
        }
    }

    /// <summary>Switches to one timestamp per row (<see cref="_timestamps"/>).</summary>
    private void MaterializeTimes()
    {
        if (_runs is null)
        {
            return;
        }
        var a = SeriesMemory.Allocate<long>(_capacity);
        _runs.CopyTo(a, _runs.Count);
        _timestamps = a;
        _runs = null;
    }

    /// <summary>Timestamp of row <paramref name="row"/>.</summary>
    private long TimeAt(int row) => _runs is not null ? _runs[row] : _timestamps![row];

    /// <summary>Records that rows [start, start + rows), the newest, came from origins origin, origin + 1, ….</summary>
    public void SetOrigin(int start, int rows, long origin)
    {
        if (_origins is not null)
        {
            for (int i = 0; i < rows; i++)
            {
                _origins[start + i] = origin + i;
            }
            return;
        }
        int last = _runRow.Count - 1;
        if (last >= 0 && _runOrigin[last] + (start - _runRow[last]) == origin)
        {
            return; // continues the current run
        }
        _runRow.Add(start);
        _runOrigin.Add(origin);
        if (_runRow.Count > 1024 && _runRow.Count > (start + rows) / 4)
        {
            MaterializeOrigins(start + rows);
        }
    }

    /// <summary>Origin of row <paramref name="row"/> (before any sort: rows are then in input order).</summary>
    private long OriginOf(int row)
    {
        if (_origins is not null)
        {
            return _origins[row];
        }
        int k = _runRow.BinarySearch(row);
        if (k < 0)
        {
            k = ~k - 1;
        }
        return _runOrigin[k] + (row - _runRow[k]);
    }

    /// <summary>Switches to one origin per row, for the first <paramref name="rows"/> rows.</summary>
    private void MaterializeOrigins(int rows)
    {
        if (_origins is not null)
        {
            return;
        }
        var a = new long[_capacity];
        for (int k = 0; k < _runRow.Count; k++)
        {
            int end = k + 1 < _runRow.Count ? _runRow[k + 1] : rows;
            long o = _runOrigin[k];
            for (int r = _runRow[k]; r < end; r++)
            {
                a[r] = o + (r - _runRow[k]);
            }
        }
        _origins = a;
        _runRow.Clear();
        _runOrigin.Clear();
    }

    /// <summary>Row-major values of rows [start, start + rows).</summary>
    public Span<float> Values(int start, int rows) => _values.AsSpan(start * _channels, rows * _channels);

    public void SetLabel(int row, sbyte label)
    {
        if (_labels is null)
        {
            if (label == Series.NoLabel)
            {
                return;
            }
            _labels = SeriesMemory.Allocate<sbyte>(_capacity);
            _labels.AsSpan().Fill(Series.NoLabel);
        }
        _labels[row] = label;
    }

    public void SetSplit(int row, RowSplit split)
    {
        if (_splits is null)
        {
            if (split == RowSplit.Unspecified)
            {
                return;
            }
            _splits = SeriesMemory.Allocate<RowSplit>(_capacity);
        }
        _splits[row] = split;
    }

    private void Grow(int needed, bool exact = false)
    {
        int limit = Array.MaxLength / Math.Max(_channels, 1);
        int size = exact ? needed : Math.Max(needed, (int)Math.Min((long)_capacity * 2, limit));
        if (size > limit)
        {
            throw new SparkAnomalyException($"Series '{Id}' has more than {_capacity} rows, more than one series can hold. Split it into several series.");
        }
        _capacity = size;
        if (_timestamps is not null)
        {
            SeriesMemory.Resize(ref _timestamps, size);
        }
        if (_origins is not null)
        {
            Array.Resize(ref _origins, size);
        }
        SeriesMemory.Resize(ref _values, size * _channels);
        if (_labels is not null)
        {
            int old = _labels.Length;
            SeriesMemory.Resize(ref _labels, size);
            _labels.AsSpan(old).Fill(Series.NoLabel);
        }
        if (_splits is not null)
        {
            SeriesMemory.Resize(ref _splits, size);
        }
    }

    /// <summary>
    /// Orders, validates and finishes the series; null when every row was dropped. Errors name the
    /// file and row through <paramref name="ctx"/>.
    /// </summary>
    public Series? Build(ReadContext ctx, bool timeFromColumn)
    {
        var options = ctx.Options;
        int n = _count;
        string timeCol = ctx.TimeColumnName;
        int firstBack = FirstStep(n, back: true);
        if (firstBack >= 0)
        {
            if (options.Order == OrderPolicy.Reject)
            {
                throw new SparkAnomalyException(
                    $"{ctx.Describe(OriginOf(firstBack))}, column '{timeCol}': timestamp {ctx.FormatTime(TimeAt(firstBack))} is earlier than the previous row's {ctx.FormatTime(TimeAt(firstBack - 1))} in series '{Id}'. Sort the input by series and time, or pass --order sort.");
            }
            SortByTime(n);
            ctx.Warnings.Add($"Series '{Id}' ({ctx.FileOf(OriginOf(0))}): rows were not in time order and have been sorted.");
        }
        int dup = FirstStep(n, back: false);
        if (dup >= 0)
        {
            int i = dup;
            long a = Math.Min(OriginOf(i), OriginOf(i - 1));
            long b = Math.Max(OriginOf(i), OriginOf(i - 1));
            string what = timeFromColumn ? $"column '{timeCol}'" : "no time column";
            throw new SparkAnomalyException(
                $"{ctx.Describe(b)}, {what}: duplicate timestamp {ctx.FormatTime(TimeAt(i))} in series '{Id}' (first at {ctx.Describe(a)}). Remove or aggregate duplicate rows: each series needs unique timestamps.");
        }
        if (HasMissing)
        {
            if (options.Missing == MissingPolicy.Drop)
            {
                n = DropMissing(ctx, n);
                if (n == 0)
                {
                    ctx.Warnings.Add($"Series '{Id}' ({ctx.FileOf(OriginOf(0))}): every row had a missing value and was dropped; the series is left out.");
                    return null;
                }
            }
            else if (options.Missing == MissingPolicy.Interpolate)
            {
                Interpolate(ctx, n);
            }
        }
        if (timeFromColumn)
        {
            WarnIfIrregular(ctx, n);
        }
        var ts = _runs is not null ? _runs.ToAxis() : TimeAxis.From(Exact(_timestamps!, n));
        var values = Exact(_values, n * _channels);
        sbyte[]? labels = null;
        if (ctx.HasLabelColumn)
        {
            labels = _labels is null ? Filled(n, Series.NoLabel) : Exact(_labels, n);
        }
        RowSplit[]? splits = null;
        if (ctx.HasSplitColumn)
        {
            splits = _splits is null ? SeriesMemory.Allocate<RowSplit>(n) : Exact(_splits, n);
        }
        return new Series(Id, ts, values, _channels, labels, splits);
    }

    private static T[] Exact<T>(T[] a, int n)
        where T : unmanaged
    {
        if (a.Length == n)
        {
            return a;
        }
        var b = SeriesMemory.Allocate<T>(n);
        a.AsSpan(0, n).CopyTo(b);
        return b;
    }

    private static sbyte[] Filled(int n, sbyte v)
    {
        var a = SeriesMemory.Allocate<sbyte>(n);
        a.AsSpan().Fill(v);
        return a;
    }

    private void SortByTime(int n)
    {
        MaterializeOrigins(n);
        MaterializeTimes();
        var keys = _timestamps.AsSpan(0, n).ToArray();
        var perm = new int[n];
        for (int i = 0; i < n; i++)
        {
            perm[i] = i;
        }
        Array.Sort(keys, perm);
        // Equal keys (duplicates) are reported next, so the order among them does not matter.
        var origins = new long[_origins!.Length];
        var values = SeriesMemory.Allocate<float>(_values.Length);
        sbyte[]? labels = _labels is null ? null : SeriesMemory.Allocate<sbyte>(_labels.Length);
        RowSplit[]? splits = _splits is null ? null : SeriesMemory.Allocate<RowSplit>(_splits.Length);
        for (int i = 0; i < n; i++)
        {
            int src = perm[i];
            origins[i] = _origins[src];
            _values.AsSpan(src * _channels, _channels).CopyTo(values.AsSpan(i * _channels, _channels));
            if (labels is not null)
            {
                labels[i] = _labels![src];
            }
            if (splits is not null)
            {
                splits[i] = _splits![src];
            }
        }
        keys.CopyTo(_timestamps!, 0);
        _origins = origins;
        _values = values;
        _labels = labels;
        _splits = splits;
    }

    private int DropMissing(ReadContext ctx, int n)
    {
        MaterializeOrigins(n);
        MaterializeTimes();
        int w = 0;
        for (int r = 0; r < n; r++)
        {
            var row = _values.AsSpan(r * _channels, _channels);
            bool missing = false;
            foreach (float v in row)
            {
                if (float.IsNaN(v))
                {
                    missing = true;
                    break;
                }
            }
            if (missing)
            {
                continue;
            }
            if (w != r)
            {
                _timestamps![w] = _timestamps[r];
                _origins![w] = _origins[r];
                row.CopyTo(_values.AsSpan(w * _channels, _channels));
                if (_labels is not null)
                {
                    _labels[w] = _labels[r];
                }
                if (_splits is not null)
                {
                    _splits[w] = _splits[r];
                }
            }
            w++;
        }
        if (w < n && w > 0)
        {
            ctx.Warnings.Add($"Series '{Id}' ({ctx.FileOf(OriginOf(0))}): dropped {n - w} of {n} rows with missing values (--missing drop).");
        }
        return w;
    }

    private void Interpolate(ReadContext ctx, int n)
    {
        long filled = 0;
        for (int c = 0; c < _channels; c++)
        {
            int prev = -1;
            for (int r = 0; r <= n; r++)
            {
                if (r < n && float.IsNaN(_values[r * _channels + c]))
                {
                    continue;
                }
                // Rows (prev, r) are missing; prev and r are valid (or outside the series).
                if (r - prev > 1)
                {
                    if (prev < 0 && r == n)
                    {
                        throw new SparkAnomalyException(
                            $"'{ctx.FileOf(OriginOf(0))}', column '{ctx.ChannelNames![c]}': every value of series '{Id}' is missing, so there is nothing to interpolate from. Fix the data, drop the channel (--channels), or pass --missing drop.");
                    }
                    for (int k = prev + 1; k < r; k++)
                    {
                        float v;
                        if (prev < 0)
                        {
                            v = _values[r * _channels + c];
                        }
                        else if (r == n)
                        {
                            v = _values[prev * _channels + c];
                        }
                        else
                        {
                            double a = _values[prev * _channels + c];
                            double b = _values[r * _channels + c];
                            double span = TimeAt(r) - TimeAt(prev);
                            double frac = span > 0 ? (TimeAt(k) - TimeAt(prev)) / span : 0.5;
                            v = (float)(a + (b - a) * frac);
                        }
                        _values[k * _channels + c] = v;
                        filled++;
                    }
                }
                prev = r;
            }
        }
        if (filled > 0)
        {
            ctx.Warnings.Add($"Series '{Id}' ({ctx.FileOf(OriginOf(0))}): interpolated {filled} missing cells (--missing interpolate).");
        }
    }

    /// <summary>
    /// Warns when the steps between consecutive timestamps are not all within 1 % of their median (clock jitter in
    /// exported sensor data counts as regular). The steps come counted (a run's step once for all its rows), so
    /// a compact time axis is never expanded.
    /// </summary>
    private void WarnIfIrregular(ReadContext ctx, int n)
    {
        if (n < 3)
        {
            return;
        }
        var steps = StepCounts(n);
        steps.Sort((x, y) => x.Step.CompareTo(y.Step));
        long min = steps[0].Step;
        long max = steps[^1].Step;
        // The element at index (n - 1) / 2 of the n - 1 sorted steps.
        int at = (n - 1) / 2;
        long median = steps[^1].Step;
        int seen = 0;
        foreach (var (step, count) in steps)
        {
            seen += count;
            if (seen > at)
            {
                median = step;
                break;
            }
        }
        long tolerance = Math.Max(median / 100, 0);
        int off = 0;
        foreach (var (step, count) in steps)
        {
            if (Math.Abs(step - median) > tolerance)
            {
                off += count;
            }
        }
        if (off > 0)
        {
            ctx.Warnings.Add(
                $"Series '{Id}' ({ctx.FileOf(OriginOf(0))}): irregular sampling: {off} of {n - 1} steps differ from the median step {FormatStep(ctx, median)} (min {FormatStep(ctx, min)}, max {FormatStep(ctx, max)}).");
        }
    }

    /// <summary>The n − 1 steps between consecutive timestamps, as (step, how many times) in row order.</summary>
    private List<(long Step, int Count)> StepCounts(int n)
    {
        if (_runs is null)
        {
            // Equal neighbouring steps share an entry, so jittery data costs far less than a long per row.
            var list = new List<(long Step, int Count)>();
            for (int i = 1; i < n; i++)
            {
                long step = _timestamps![i] - _timestamps[i - 1];
                if (list.Count > 0 && list[^1].Step == step)
                {
                    list[^1] = (step, list[^1].Count + 1);
                }
                else
                {
                    list.Add((step, 1));
                }
            }
            return list;
        }
        var steps = new List<(long Step, int Count)>(2 * _runs.RunCount);
        for (int k = 0; k < _runs.RunCount; k++)
        {
            int row = _runs.RunRow(k);
            if (k > 0)
            {
                steps.Add((_runs.RunFirst(k) - _runs[row - 1], 1));
            }
            int rows = Math.Min(_runs.RunEnd(k), n) - row;
            if (rows > 1)
            {
                steps.Add((_runs.RunStep(k), rows - 1));
            }
        }
        return steps;
    }

    /// <summary>
    /// The first row i in [1, n) whose timestamp is below row i − 1's (<paramref name="back"/>) or equal to
    /// it (otherwise); −1 when there is none.
    /// </summary>
    private int FirstStep(int n, bool back)
    {
        bool Bad(long prev, long t) => back ? t < prev : t == prev;
        if (_runs is null)
        {
            for (int i = 1; i < n; i++)
            {
                if (Bad(_timestamps![i - 1], _timestamps[i]))
                {
                    return i;
                }
            }
            return -1;
        }
        for (int k = 0; k < _runs.RunCount; k++)
        {
            int row = _runs.RunRow(k);
            if (row >= n)
            {
                break;
            }
            if (k > 0 && Bad(_runs[row - 1], _runs.RunFirst(k)))
            {
                return row;
            }
            if (Math.Min(_runs.RunEnd(k), n) - row > 1 && Bad(0, _runs.RunStep(k)))
            {
                return row + 1;
            }
        }
        return -1;
    }

    private static string FormatStep(ReadContext ctx, long step) => ctx.TimeMode == TimeMode.DateTime
        ? TimeSpan.FromTicks(step * 10).ToString()
        : step.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// Allocates the per-row buffers that become a <see cref="Series"/>' arrays (values, timestamps, labels,
/// splits). Large ones go to the pinned object heap rather than the large object heap: both are swept, never
/// compacted, so nothing changes for the arrays themselves, but the GC sizes its large-object budget (how much
/// large-object garbage may pile up before a full collection) in proportion to what survives on the large
/// object heap. With the loaded data there, the reader's transient large buffers (Parquet.Net's per-column
/// page buffers) pile up to a large fraction of the data between full collections; kept off it, they are
/// collected sooner (issue 6, 10 M rows × 8 channels, peak over the float32 data size: 1.78–1.91× without,
/// 1.57–1.82× with; docs/performance.md "Peak memory"). This leans on the GC's budget heuristics, measured
/// on .NET 10 only: the arrays themselves are the same either way.
/// </summary>
internal static class SeriesMemory
{
    /// <summary>The size from which arrays would otherwise be large objects (85,000 bytes).</summary>
    public const int LargeObjectBytes = 85_000;

    /// <summary>A zeroed array of <paramref name="length"/> elements, on the pinned object heap when large.</summary>
    public static T[] Allocate<T>(int length)
        where T : unmanaged
    {
        return (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() >= LargeObjectBytes
            ? GC.AllocateArray<T>(length, pinned: true)
            : new T[length];
    }

    /// <summary><see cref="Array.Resize{T}"/> through <see cref="Allocate{T}"/>.</summary>
    public static void Resize<T>(ref T[] array, int length)
        where T : unmanaged
    {
        if (array.Length == length)
        {
            return;
        }
        var b = Allocate<T>(length);
        array.AsSpan(0, Math.Min(array.Length, length)).CopyTo(b);
        array = b;
    }
}
