using System.Collections;

namespace SparkAnomaly.Data;

/// <summary>
/// The timestamps of a <see cref="Series"/>: one <c>long</c> per row, stored compactly when the series is
/// sampled regularly. Stretches of rows with a constant step are kept as runs (first row, first
/// timestamp, step), a few bytes per series instead of 8 bytes per row; a series that is not regular
/// enough for that keeps a plain array. Either way the values read back are exactly the ones given.
/// </summary>
public sealed class TimeAxis : IReadOnlyList<long>, IEquatable<TimeAxis>
{
    // Exactly one of the two forms: _values, or the runs (_runRows ascending, _runRows[0] == 0). Run k
    // covers rows [_runRows[k], _runRows[k + 1]) (the last one up to Length); its row r has the timestamp
    // _runFirsts[k] + _runSteps[k] * (r - _runRows[k]).
    private readonly long[]? _values;
    private readonly int[] _runRows;
    private readonly long[] _runFirsts;
    private readonly long[] _runSteps;

    private TimeAxis(long[] values)
    {
        _values = values;
        _runRows = [];
        _runFirsts = [];
        _runSteps = [];
        Length = values.Length;
    }

    internal TimeAxis(int length, int[] runRows, long[] runFirsts, long[] runSteps)
    {
        Length = length;
        _runRows = runRows;
        _runFirsts = runFirsts;
        _runSteps = runSteps;
    }

    /// <summary>An axis with no rows.</summary>
    public static TimeAxis Empty { get; } = new([]);

    /// <summary>
    /// The axis of <paramref name="timestamps"/>: runs when they take at most one run per 8 rows, otherwise
    /// the array itself (not copied: do not change it afterwards).
    /// </summary>
    public static TimeAxis From(long[] timestamps)
    {
        ArgumentNullException.ThrowIfNull(timestamps);
        int n = timestamps.Length;
        if (n == 0)
        {
            return Empty;
        }
        int limit = Math.Max(1, n / 8);
        var runs = new TimeRuns();
        foreach (long t in timestamps)
        {
            runs.Append(t);
            if (runs.RunCount > limit)
            {
                return new TimeAxis(timestamps);
            }
        }
        return runs.ToAxis();
    }

    /// <summary><paramref name="length"/> rows: <paramref name="start"/>, <paramref name="start"/> + <paramref name="step"/>, ….</summary>
    public static TimeAxis Regular(long start, long step, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return length == 0 ? Empty : new TimeAxis(length, [0], [start], [step]);
    }

    /// <summary>Number of rows.</summary>
    public int Length { get; }

    int IReadOnlyCollection<long>.Count => Length;

    /// <summary>True when stored as runs rather than one value per row.</summary>
    public bool IsCompact => _values is null;

    /// <summary>Number of runs of constant step (0 when stored as a plain array).</summary>
    public int RunCount => _runRows.Length;

    /// <summary>The timestamp of row <paramref name="index"/>.</summary>
    public long this[int index]
    {
        get
        {
            if (_values is not null)
            {
                return _values[index];
            }
            if ((uint)index >= (uint)Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"row {index} is outside the {Length} rows of the axis");
            }
            int k = _runRows.Length == 1 ? 0 : RunOf(index);
            return _runFirsts[k] + _runSteps[k] * (index - _runRows[k]);
        }
    }

    private int RunOf(int row)
    {
        int k = Array.BinarySearch(_runRows, row);
        return k >= 0 ? k : ~k - 1;
    }

    /// <summary>Copies rows [<paramref name="start"/>, <paramref name="start"/> + destination length) into <paramref name="destination"/>.</summary>
    public void CopyTo(int start, Span<long> destination)
    {
        if (start < 0 || start > Length - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(start), start, $"rows {start}..{start + destination.Length} are outside the {Length} rows of the axis");
        }
        if (_values is not null)
        {
            _values.AsSpan(start, destination.Length).CopyTo(destination);
            return;
        }
        if (destination.IsEmpty)
        {
            return;
        }
        int k = RunOf(start);
        int row = start;
        int d = 0;
        while (d < destination.Length)
        {
            int end = k + 1 < _runRows.Length ? _runRows[k + 1] : Length;
            long step = _runSteps[k];
            long t = _runFirsts[k] + step * (row - _runRows[k]);
            int take = Math.Min(end - row, destination.Length - d);
            for (int i = 0; i < take; i++, t += step)
            {
                destination[d + i] = t;
            }
            d += take;
            row += take;
            k++;
        }
    }

    /// <summary>Copies every row into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<long> destination) => CopyTo(0, destination[..Length]);

    /// <summary>A new array of every row's timestamp.</summary>
    public long[] ToArray() => ToArray(0, Length);

    /// <summary>A new array of rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>).</summary>
    public long[] ToArray(int start, int length)
    {
        var a = new long[length];
        CopyTo(start, a);
        return a;
    }

    /// <summary>Rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) as an axis of their own.</summary>
    public TimeAxis Slice(int start, int length) => From(ToArray(start, length));

    public Enumerator GetEnumerator() => new(this);

    IEnumerator<long> IEnumerable<long>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>True when both axes have the same timestamps, however they are stored.</summary>
    public bool Equals(TimeAxis? other)
    {
        if (other is null || other.Length != Length)
        {
            return false;
        }
        if (ReferenceEquals(this, other))
        {
            return true;
        }
        if (_values is not null && other._values is not null)
        {
            return _values.AsSpan().SequenceEqual(other._values);
        }
        for (int i = 0; i < Length; i++)
        {
            if (this[i] != other[i])
            {
                return false;
            }
        }
        return true;
    }

    public override bool Equals(object? obj) => obj is TimeAxis other && Equals(other);

    public override int GetHashCode() => Length == 0 ? 0 : HashCode.Combine(Length, this[0], this[Length - 1]);

    public override string ToString() => Length == 0
        ? "TimeAxis(0 rows)"
        : $"TimeAxis({Length} rows, {this[0]}..{this[Length - 1]}, {(IsCompact ? $"{RunCount} runs" : "array")})";

    /// <summary>Enumerates the timestamps in row order without allocating.</summary>
    public struct Enumerator : IEnumerator<long>
    {
        private readonly TimeAxis _axis;
        private int _row;
        private int _run;
        private int _runEnd;
        private long _current;

        internal Enumerator(TimeAxis axis)
        {
            _axis = axis;
            _row = -1;
            _run = -1;
            _runEnd = 0;
            _current = 0;
        }

        public readonly long Current => _current;

        readonly object IEnumerator.Current => _current;

        public bool MoveNext()
        {
            int next = _row + 1;
            if (next >= _axis.Length)
            {
                _row = _axis.Length;
                return false;
            }
            _row = next;
            if (_axis._values is not null)
            {
                _current = _axis._values[next];
                return true;
            }
            if (next >= _runEnd)
            {
                _run++;
                _runEnd = _run + 1 < _axis._runRows.Length ? _axis._runRows[_run + 1] : _axis.Length;
                _current = _axis._runFirsts[_run];
            }
            else
            {
                _current += _axis._runSteps[_run];
            }
            return true;
        }

        public void Reset()
        {
            _row = -1;
            _run = -1;
            _runEnd = 0;
            _current = 0;
        }

        public readonly void Dispose()
        {
        }
    }
}

/// <summary>
/// Timestamps collected one at a time (or a span at a time) as runs of constant step, for
/// <see cref="SeriesBuilder"/> and <see cref="TimeAxis.From"/>. Every run but the last covers at least two rows.
/// </summary>
internal sealed class TimeRuns
{
    private readonly List<int> _rows = new();
    private readonly List<long> _firsts = new();
    private readonly List<long> _steps = new();
    private long _last;

    public int Count { get; private set; }

    public int RunCount => _rows.Count;

    public void Append(long t)
    {
        int last = _rows.Count - 1;
        if (last < 0 || Overflows(_last, t))
        {
            NewRun(t);
        }
        else if (Count - _rows[last] == 1)
        {
            _steps[last] = t - _last; // a one-row run takes any step
        }
        else if (t - _last != _steps[last])
        {
            NewRun(t);
        }
        _last = t;
        Count++;
    }

    public void Append(ReadOnlySpan<long> times)
    {
        int i = 0;
        while (i < times.Length)
        {
            Append(times[i++]);
            int last = _rows.Count - 1;
            if (Count - _rows[last] < 2)
            {
                continue;
            }
            // Fast path: extend the current run while the step holds.
            long step = _steps[last];
            long prev = _last;
            int j = i;
            while (j < times.Length && times[j] - prev == step && !Overflows(prev, times[j]))
            {
                prev = times[j];
                j++;
            }
            Count += j - i;
            _last = prev;
            i = j;
        }
    }

    /// <summary>Appends <paramref name="rows"/> rows <paramref name="first"/>, <paramref name="first"/> + 1, ….</summary>
    public void AppendSteps(long first, int rows)
    {
        if (rows <= 0)
        {
            return;
        }
        int head = Math.Min(rows, 3);
        for (int i = 0; i < head; i++)
        {
            Append(first + i);
        }
        if (rows > head)
        {
            // The last run now ends with first + 1, first + 2: its step is 1, and the rest extend it.
            Count += rows - head;
            _last = first + rows - 1;
        }
    }

    private static bool Overflows(long prev, long t) => ((t ^ prev) & (t ^ (t - prev))) < 0;

    private void NewRun(long t)
    {
        _rows.Add(Count);
        _firsts.Add(t);
        _steps.Add(0);
    }

    public int RunRow(int k) => _rows[k];

    public long RunFirst(int k) => _firsts[k];

    public long RunStep(int k) => _steps[k];

    /// <summary>One past the last row of run <paramref name="k"/>.</summary>
    public int RunEnd(int k) => k + 1 < _rows.Count ? _rows[k + 1] : Count;

    public long this[int row]
    {
        get
        {
            int k = _rows.Count == 1 ? 0 : _rows.BinarySearch(row);
            if (k < 0)
            {
                k = ~k - 1;
            }
            return _firsts[k] + _steps[k] * (row - _rows[k]);
        }
    }

    /// <summary>Writes the first <paramref name="rows"/> timestamps into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<long> destination, int rows)
    {
        for (int k = 0; k < _rows.Count; k++)
        {
            int end = Math.Min(RunEnd(k), rows);
            long t = _firsts[k];
            long step = _steps[k];
            for (int r = _rows[k]; r < end; r++, t += step)
            {
                destination[r] = t;
            }
        }
    }

    public TimeAxis ToAxis() => Count == 0 ? TimeAxis.Empty : new TimeAxis(Count, _rows.ToArray(), _firsts.ToArray(), _steps.ToArray());
}
