using SparkAnomaly.Data;

namespace SparkAnomaly.Training;

/// <summary>Which worker trains which series, and how many windows each worker gets.</summary>
public sealed record ShardPlan(IReadOnlyDictionary<string, int> WorkerOfSeries, long[] WindowsPerWorker)
{
    /// <summary>Largest shard over the mean shard: 1.0 is perfectly balanced.</summary>
    public double Imbalance => WindowsPerWorker.Length == 0 || WindowsPerWorker.Sum() == 0
        ? 1.0
        : WindowsPerWorker.Max() / ((double)WindowsPerWorker.Sum() / WindowsPerWorker.Length);
}

/// <summary>
/// Splits training windows across workers: contiguous segments, balanced by window count,
/// deterministic (no randomness: the same data and worker count always give the same plan).
/// </summary>
public static class ShardPlanner
{
    /// <summary>Shards more unbalanced than this (largest over mean) are re-split by window ranges under WhenUnbalanced.</summary>
    public const double TolerableImbalance = 1.10;

    /// <summary>
    /// Whole series to workers, in order, cutting where the running window count crosses each
    /// worker's share. Used where rows travel by a series key (Spark).
    /// </summary>
    public static ShardPlan Plan(IReadOnlyList<(string SeriesId, long Rows)> series, int workers, int windowLength, int stride)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (workers < 1)
        {
            throw new SparkAnomalyException($"workers is {workers}; it must be 1 or more.");
        }
        var windows = series.Select(s => WindowIndex.Count(s.Rows, windowLength, stride)).ToArray();
        var owner = AssignWholeSeries(windows, workers);
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        var perWorker = new long[workers];
        for (int i = 0; i < series.Count; i++)
        {
            map[series[i].SeriesId] = owner[i];
            perWorker[owner[i]] += windows[i];
        }
        return new ShardPlan(map, perWorker);
    }

    /// <summary>Local split of the trainable windows into one shard per worker, following <paramref name="policy"/>.</summary>
    public static ShardData[] Split(IReadOnlyList<Series> series, int workers, int windowLength, int stride, RepartitionPolicy policy)
    {
        var all = WindowIndex.Trainable(series, windowLength, stride);
        if (all.Count == 0)
        {
            throw new SparkAnomalyException(
                $"no trainable window of {windowLength} rows: every series is shorter than the window or covered by split=test rows. Use a smaller --window or more training rows.");
        }
        var perSeries = new long[series.Count];
        foreach (var (s, _) in all)
        {
            perSeries[s]++;
        }
        var owner = AssignWholeSeries(perSeries, workers);
        var bySeries = new List<(int, int)>[workers];
        for (int w = 0; w < workers; w++)
        {
            bySeries[w] = new List<(int, int)>();
        }
        foreach (var win in all)
        {
            bySeries[owner[win.Series]].Add(win);
        }
        double mean = (double)all.Count / workers;
        bool balanced = bySeries.Max(l => l.Count) <= TolerableImbalance * mean;
        bool byRanges = policy == RepartitionPolicy.Always || (policy == RepartitionPolicy.WhenUnbalanced && !balanced);
        var shards = new ShardData[workers];
        for (int w = 0; w < workers; w++)
        {
            IReadOnlyList<(int, int)> mine = byRanges
                ? all.GetRange((int)((long)all.Count * w / workers), (int)((long)all.Count * (w + 1) / workers) - (int)((long)all.Count * w / workers))
                : bySeries[w];
            shards[w] = ShardData.FromWindows(series, windowLength, mine);
        }
        return shards;
    }

    /// <summary>One line per worker: series it holds and window count; for <c>inspect</c> and logs.</summary>
    public static IReadOnlyList<string> Describe(ShardData[] shards)
    {
        var lines = new List<string>();
        for (int w = 0; w < shards.Length; w++)
        {
            var ids = Enumerable.Range(0, shards[w].WindowCount).Select(i => shards[w].WindowAt(i).Series.Id).Distinct().ToList();
            string names = ids.Count <= 4 ? string.Join(", ", ids) : $"{string.Join(", ", ids.Take(3))}, … ({ids.Count} series)";
            lines.Add($"worker {w}: {shards[w].WindowCount} windows from {names}");
        }
        return lines;
    }

    private static int[] AssignWholeSeries(IReadOnlyList<long> windows, int workers)
    {
        long total = windows.Sum();
        var owner = new int[windows.Count];
        long cumulative = 0;
        for (int i = 0; i < windows.Count; i++)
        {
            // The series goes to the worker whose share contains its midpoint.
            double mid = cumulative + windows[i] / 2.0;
            owner[i] = total == 0 ? i % workers : Math.Min(workers - 1, (int)(mid * workers / total));
            cumulative += windows[i];
        }
        return owner;
    }
}
