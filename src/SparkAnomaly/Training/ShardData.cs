using SparkAnomaly.Data;

namespace SparkAnomaly.Training;

/// <summary>
/// One worker's training windows: views (series, start row) over the series' contiguous buffers.
/// No window is ever copied except into a minibatch buffer.
/// </summary>
public sealed class ShardData
{
    private readonly Series[] _series;
    private readonly int[] _windowSeries;
    private readonly int[] _windowStart;

    private ShardData(Series[] series, int[] windowSeries, int[] windowStart, int channels, int windowLength)
    {
        _series = series;
        _windowSeries = windowSeries;
        _windowStart = windowStart;
        Channels = channels;
        WindowLength = windowLength;
    }

    public int Channels { get; }

    public int WindowLength { get; }

    public int WindowCount => _windowStart.Length;

    public IReadOnlyList<Series> Series => _series;

    /// <summary>Window <paramref name="index"/> as a read-only view of [T × F] row-major values.</summary>
    public ReadOnlySpan<float> Window(int index) =>
        _series[_windowSeries[index]].Rows(_windowStart[index], WindowLength);

    /// <summary>The series a window belongs to, and its first row.</summary>
    public (Series Series, int Start) WindowAt(int index) => (_series[_windowSeries[index]], _windowStart[index]);

    /// <summary>Every trainable window (all of its rows trainable) of every series, in series order.</summary>
    /// <remarks>
    /// Same windows, order and kept series as <c>FromWindows(series, T, WindowIndex.Trainable(series, T, s))</c>,
    /// but the index is built straight into two exactly sized int arrays (a count pass, then a fill pass)
    /// with no staging list: at stride 1 that list was 16 bytes per window with its growth copies.
    /// </remarks>
    public static ShardData FromSeries(IReadOnlyList<Series> series, int windowLength, int stride)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (windowLength <= 0 || stride <= 0)
        {
            return FromWindows(series, windowLength, WindowIndex.Trainable(series, windowLength, stride));
        }
        int channels = series.Count > 0 ? series[0].Channels : 0;
        long total = 0;
        for (int si = 0; si < series.Count; si++)
        {
            total += CountTrainable(series[si], windowLength, stride, null, 0);
        }
        if (total > Array.MaxLength)
        {
            throw new ArgumentException($"{total} windows are more than one shard can index; use a larger stride or more workers");
        }
        var ws = new int[total];
        var st = new int[total];
        var kept = new List<Series>();
        int at = 0;
        for (int si = 0; si < series.Count; si++)
        {
            var s = series[si];
            if (s.Channels != channels)
            {
                throw new ArgumentException($"series {s.Id} has {s.Channels} channels, not {channels}");
            }
            int n = (int)CountTrainable(s, windowLength, stride, st, at);
            if (n == 0)
            {
                continue;
            }
            ws.AsSpan(at, n).Fill(kept.Count);
            kept.Add(s);
            at += n;
        }
        return new ShardData(kept.ToArray(), ws, st, channels, windowLength);
    }

    /// <summary>Counts (and, with <paramref name="starts"/>, writes from <paramref name="at"/>) the trainable window starts of one series.</summary>
    private static long CountTrainable(Series s, int windowLength, int stride, int[]? starts, int at)
    {
        long count = 0;
        if (s.Splits is null)
        {
            for (long start = 0; start + windowLength <= s.Length; start += stride)
            {
                if (starts is not null)
                {
                    starts[at + count] = (int)start;
                }
                count++;
            }
            return count;
        }
        // Rows since the last non-trainable row: a window [start, start + T) is trainable when the
        // last blocked row before its end is before its start.
        int lastBlocked = -1;
        int next = 0; // next candidate start
        for (int r = 0; r < s.Length; r++)
        {
            if (!s.IsTrainable(r))
            {
                lastBlocked = r;
            }
            // Window ending at row r starts at r - T + 1.
            int start = r - windowLength + 1;
            if (start < 0 || start != next)
            {
                continue;
            }
            next += stride;
            if (lastBlocked < start)
            {
                if (starts is not null)
                {
                    starts[at + count] = start;
                }
                count++;
            }
        }
        return count;
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
        var ws = new int[windows.Count];
        var st = new int[windows.Count];
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
            ws[i] = k;
            st[i] = start;
        }
        return new ShardData(kept.ToArray(), ws, st, channels, windowLength);
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
