using SparkAnomaly.Data;

namespace SparkAnomaly.Training;

/// <summary>
/// One worker's training windows: views (series, start row) over the series' contiguous buffers.
/// No window is ever copied except into a minibatch buffer.
/// </summary>
public sealed class ShardData
{
    private readonly Series[] _series;

    // The windows as segments of evenly spaced starts in one series: window i of segment k (windows
    // _segFirst[k] ≤ i < _segFirst[k + 1]) starts at row _segStart[k] + (i - _segFirst[k]) × _segStep[k]
    // of series _segSeries[k]. Stride-s windows over a series without test rows are one segment, so the
    // index costs a few bytes per series instead of 8 per window.
    private readonly int[] _segFirst;
    private readonly int[] _segSeries;
    private readonly int[] _segStart;
    private readonly int[] _segStep;

    private ShardData(Series[] series, Segments segments, int channels, int windowLength)
    {
        _series = series;
        _segFirst = segments.First.ToArray();
        _segSeries = segments.Series.ToArray();
        _segStart = segments.Start.ToArray();
        _segStep = segments.Step.ToArray();
        WindowCount = segments.Count;
        Channels = channels;
        WindowLength = windowLength;
    }

    public int Channels { get; }

    public int WindowLength { get; }

    public int WindowCount { get; }

    public IReadOnlyList<Series> Series => _series;

    /// <summary>Window <paramref name="index"/> as a read-only view of [T × F] row-major values.</summary>
    public ReadOnlySpan<float> Window(int index)
    {
        var (series, start) = Locate(index);
        return _series[series].Rows(start, WindowLength);
    }

    /// <summary>The series a window belongs to, and its first row.</summary>
    public (Series Series, int Start) WindowAt(int index)
    {
        var (series, start) = Locate(index);
        return (_series[series], start);
    }

    private (int Series, int Start) Locate(int index)
    {
        if ((uint)index >= (uint)WindowCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }
        int k = Array.BinarySearch(_segFirst, index);
        if (k < 0)
        {
            k = ~k - 1;
        }
        return (_segSeries[k], _segStart[k] + (index - _segFirst[k]) * _segStep[k]);
    }

    /// <summary>Collects windows in order, merging evenly spaced starts in one series into a segment.</summary>
    private sealed class Segments
    {
        public List<int> First { get; } = new();

        public List<int> Series { get; } = new();

        public List<int> Start { get; } = new();

        public List<int> Step { get; } = new();

        public int Count { get; private set; }

        private int _lastStart;

        public void Add(int series, int start)
        {
            int k = First.Count - 1;
            if (k >= 0 && Series[k] == series)
            {
                int len = Count - First[k];
                if (len == 1 && start > Start[k])
                {
                    Step[k] = start - Start[k];
                    _lastStart = start;
                    Count++;
                    return;
                }
                if (len > 1 && start == _lastStart + Step[k])
                {
                    _lastStart = start;
                    Count++;
                    return;
                }
            }
            if (Count == int.MaxValue)
            {
                throw new ArgumentException("more windows than one shard can index; use a larger stride or more workers");
            }
            First.Add(Count);
            Series.Add(series);
            Start.Add(start);
            Step.Add(1);
            _lastStart = start;
            Count++;
        }
    }

    /// <summary>Every trainable window (all of its rows trainable) of every series, in series order.</summary>
    /// <remarks>
    /// Same windows, order and kept series as <c>FromWindows(series, T, WindowIndex.Trainable(series, T, s))</c>,
    /// without the list of (series, start) pairs: at stride 1 that list alone was 16 bytes per window.
    /// </remarks>
    public static ShardData FromSeries(IReadOnlyList<Series> series, int windowLength, int stride)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (windowLength <= 0 || stride <= 0)
        {
            return FromWindows(series, windowLength, WindowIndex.Trainable(series, windowLength, stride));
        }
        int channels = series.Count > 0 ? series[0].Channels : 0;
        var segments = new Segments();
        var kept = new List<Series>();
        for (int si = 0; si < series.Count; si++)
        {
            var s = series[si];
            int before = segments.Count;
            AddTrainable(s, windowLength, stride, segments, kept.Count);
            if (segments.Count > before)
            {
                if (s.Channels != channels)
                {
                    throw new ArgumentException($"series {s.Id} has {s.Channels} channels, not {channels}");
                }
                kept.Add(s);
            }
        }
        return new ShardData(kept.ToArray(), segments, channels, windowLength);
    }

    /// <summary>Adds the trainable window starts of one series, as series <paramref name="k"/> of the shard.</summary>
    private static void AddTrainable(Series s, int windowLength, int stride, Segments segments, int k)
    {
        if (s.Splits is null)
        {
            for (long start = 0; start + windowLength <= s.Length; start += stride)
            {
                segments.Add(k, (int)start);
            }
            return;
        }
        // A window [start, start + T) is trainable when the last non-trainable row up to its end is before its start.
        int lastBlocked = -1;
        int next = 0; // next candidate start
        for (int r = 0; r < s.Length; r++)
        {
            if (!s.IsTrainable(r))
            {
                lastBlocked = r;
            }
            int start = r - windowLength + 1; // the window ending at row r
            if (start < 0 || start != next)
            {
                continue;
            }
            next += stride;
            if (lastBlocked < start)
            {
                segments.Add(k, start);
            }
        }
    }

    /// <summary>Windows given as (series index, start row) pairs over <paramref name="series"/>.</summary>
    public static ShardData FromWindows(IReadOnlyList<Series> series, int windowLength, IReadOnlyList<(int Series, int Start)> windows)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(windows);
        int channels = series.Count > 0 ? series[0].Channels : 0;
        // Keep only the series this shard's windows use, so Series lists exactly the shard's data.
        var remap = new Dictionary<int, int>();
        var kept = new List<Series>();
        var segments = new Segments();
        for (int i = 0; i < windows.Count; i++)
        {
            var (si, start) = windows[i];
            var s = series[si];
            if (start < 0 || start + windowLength > s.Length || s.Channels != channels)
            {
                throw new ArgumentException($"window {i} ({s.Id} @ {start}) does not fit its series of {s.Length} rows");
            }
            if (!remap.TryGetValue(si, out int k))
            {
                k = remap[si] = kept.Count;
                kept.Add(s);
            }
            segments.Add(k, start);
        }
        return new ShardData(kept.ToArray(), segments, channels, windowLength);
    }

    /// <summary>
    /// Builds a shard from flat columns as an engine delivers a group's rows (e.g. a Spark grouped-map
    /// batch): rows are grouped by series id and sorted by timestamp here, so arrival order does not matter.
    /// </summary>
    public static ShardData FromColumns(string[] seriesIds, long[] timestamps, float[][] channelColumns, bool[]? trainable, int windowLength, int stride)
    {
        ArgumentNullException.ThrowIfNull(seriesIds);
        ArgumentNullException.ThrowIfNull(timestamps);
        ArgumentNullException.ThrowIfNull(channelColumns);
        int n = seriesIds.Length, f = channelColumns.Length;
        if (timestamps.Length != n || channelColumns.Any(c => c.Length != n) || (trainable is not null && trainable.Length != n))
        {
            throw new ArgumentException("all columns must have one value per row");
        }
        var order = Enumerable.Range(0, n)
            .OrderBy(i => seriesIds[i], StringComparer.Ordinal)
            .ThenBy(i => timestamps[i])
            .ToArray();
        var series = new List<Series>();
        for (int a = 0; a < n;)
        {
            int b = a;
            while (b < n && seriesIds[order[b]] == seriesIds[order[a]])
            {
                b++;
            }
            int len = b - a;
            var ts = new long[len];
            var values = new float[len * f];
            var splits = trainable is null ? null : new RowSplit[len];
            for (int r = 0; r < len; r++)
            {
                int row = order[a + r];
                ts[r] = timestamps[row];
                for (int c = 0; c < f; c++)
                {
                    values[r * f + c] = channelColumns[c][row];
                }
                if (splits is not null)
                {
                    splits[r] = trainable![row] ? RowSplit.Train : RowSplit.Test;
                }
            }
            series.Add(new Series(seriesIds[order[a]], ts, values, f, null, splits));
            a = b;
        }
        return FromSeries(series, windowLength, stride);
    }
}

/// <summary>Enumerates sliding windows over series.</summary>
public static class WindowIndex
{
    /// <summary>Starts 0, s, 2s, … of windows whose rows are all trainable (split ≠ test).</summary>
    public static List<(int Series, int Start)> Trainable(IReadOnlyList<Series> series, int windowLength, int stride)
    {
        var windows = new List<(int, int)>();
        for (int si = 0; si < series.Count; si++)
        {
            var s = series[si];
            // Prefix counts of non-trainable rows make each window's check O(1).
            var blocked = new int[s.Length + 1];
            for (int r = 0; r < s.Length; r++)
            {
                blocked[r + 1] = blocked[r] + (s.IsTrainable(r) ? 0 : 1);
            }
            for (int start = 0; start + windowLength <= s.Length; start += stride)
            {
                if (blocked[start + windowLength] == blocked[start])
                {
                    windows.Add((si, start));
                }
            }
        }
        return windows;
    }

    /// <summary>How many windows of length T and stride s fit in <paramref name="rows"/> rows.</summary>
    public static long Count(long rows, int windowLength, int stride) =>
        rows < windowLength ? 0 : (rows - windowLength) / stride + 1;
}
