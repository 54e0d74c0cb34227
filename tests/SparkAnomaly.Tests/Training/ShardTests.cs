using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SparkAnomaly.Data;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Training;

public sealed class ShardTests
{
    private static Series Make(string id, int rows, int channels = 2, RowSplit[]? splits = null) =>
        new(id, Enumerable.Range(0, rows).Select(i => (long)i).ToArray(), Enumerable.Range(0, rows * channels).Select(i => (float)i).ToArray(), channels, null, splits);

    [Fact]
    public void Windows_AreViewsOfTheSeriesBuffer_NotCopies()
    {
        var s = Make("a", 50);
        var shard = ShardData.FromSeries(new[] { s }, windowLength: 10, stride: 3);

        var w = shard.Window(4);   // starts at row 12

        Assert.True(Unsafe.AreSame(ref MemoryMarshal.GetReference(w), ref s.Values[12 * 2]));
        Assert.Equal(10 * 2, w.Length);
    }

    [Fact]
    public void TrainableWindows_SkipTestRowsAndShortSeries()
    {
        var splits = Enumerable.Range(0, 30).Select(i => i is >= 10 and < 15 ? RowSplit.Test : RowSplit.Train).ToArray();
        var series = new[] { Make("a", 30, splits: splits), Make("short", 5) };

        var windows = WindowIndex.Trainable(series, windowLength: 8, stride: 1);

        // Windows [0..2] end before row 10; windows starting at 15..22 start after row 14.
        Assert.Equal(Enumerable.Range(0, 3).Concat(Enumerable.Range(15, 8)), windows.Select(w => w.Start));
        Assert.All(windows, w => Assert.Equal(0, w.Series));
    }

    [Theory]
    [InlineData(RepartitionPolicy.Always)]
    [InlineData(RepartitionPolicy.Never)]
    [InlineData(RepartitionPolicy.WhenUnbalanced)]
    public void Split_CoversEveryWindowOnce_Deterministically(RepartitionPolicy policy)
    {
        var series = new[] { Make("a", 400), Make("b", 100), Make("c", 250), Make("d", 30) };

        var shards = ShardPlanner.Split(series, 3, 16, 2, policy);
        var again = ShardPlanner.Split(series, 3, 16, 2, policy);

        int total = WindowIndex.Trainable(series, 16, 2).Count;
        Assert.Equal(total, shards.Sum(s => s.WindowCount));
        var seen = shards.SelectMany(sh => Enumerable.Range(0, sh.WindowCount).Select(i => (sh.WindowAt(i).Series.Id, sh.WindowAt(i).Start))).ToList();
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(shards.Select(s => s.WindowCount), again.Select(s => s.WindowCount));
        if (policy != RepartitionPolicy.Never)
        {
            Assert.True(shards.Max(s => s.WindowCount) <= ShardPlanner.TolerableImbalance * total / 3.0 + 1);
        }
    }

    [Fact]
    public void Plan_SeriesWithNoRowsLeftToTrain_StillAssignedWithNoWindows()
    {
        // The Spark trainer plans a series whose trainable rows all became calibration rows with 0 rows, so that it is
        // still sharded and scored for the threshold.
        var plan = ShardPlanner.Plan(new[] { ("a", 1000L), ("b", 0L), ("c", 10L) }, 2, 64, 1);

        Assert.Equal(new[] { "a", "b", "c" }, plan.WorkerOfSeries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1000 - 64 + 1, plan.WindowsPerWorker.Sum());
    }

    [Fact]
    public void Plan_WholeSeries_BalancedByWindowsAndDeterministic()
    {
        var counts = new[] { ("a", 1000L), ("b", 1000L), ("c", 1000L), ("d", 1000L) };
        var plan = ShardPlanner.Plan(counts, 2, 64, 1);
        Assert.Equal(new[] { 0, 0, 1, 1 }, counts.Select(c => plan.WorkerOfSeries[c.Item1]));
        Assert.Equal(plan.WindowsPerWorker[0], plan.WindowsPerWorker[1]);
        Assert.Equal(1.0, plan.Imbalance, 6);
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(8, 3)]
    [InlineData(5, 7)]
    [InlineData(1, 1)]
    [InlineData(40, 2)]
    public void FromSeries_MatchesFromWindowsOverTheTrainableIndex(int windowLength, int stride)
    {
        var rnd = new Random(3);
        var series = new[]
        {
            Make("a", 60, splits: Enumerable.Range(0, 60).Select(_ => rnd.Next(6) == 0 ? RowSplit.Test : RowSplit.Train).ToArray()),
            Make("short", 4),
            Make("b", 33),
            Make("c", 25, splits: Enumerable.Range(0, 25).Select(i => i < 12 ? RowSplit.Train : RowSplit.Test).ToArray()),
            Make("d", 41, splits: new RowSplit[41]),
        };

        var fast = ShardData.FromSeries(series, windowLength, stride);
        var slow = ShardData.FromWindows(series, windowLength, WindowIndex.Trainable(series, windowLength, stride));

        Assert.Equal(slow.WindowCount, fast.WindowCount);
        Assert.Equal(slow.Series.Select(s => s.Id), fast.Series.Select(s => s.Id));
        for (int i = 0; i < slow.WindowCount; i++)
        {
            var (ss, sst) = slow.WindowAt(i);
            var (fs, fst) = fast.WindowAt(i);
            Assert.Same(ss, fs);
            Assert.Equal(sst, fst);
        }
    }
}
