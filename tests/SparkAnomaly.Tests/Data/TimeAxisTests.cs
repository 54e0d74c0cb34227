using System.Runtime.InteropServices;
using SparkAnomaly.Data;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Data;

public sealed class TimeAxisTests
{
    /// <summary>Regular, irregular and mixed timestamp arrays (ascending or not: the axis only stores them).</summary>
    public static TheoryData<string, long[]> Cases()
    {
        var rnd = new Random(11);
        long[] Regular(long start, long step, int n) => Enumerable.Range(0, n).Select(i => start + step * i).ToArray();
        var irregular = new long[300];
        for (int i = 1; i < irregular.Length; i++)
        {
            irregular[i] = irregular[i - 1] + 1 + rnd.Next(1000);
        }
        // Regular stretches with gaps and a change of step: a few runs.
        var mixed = Regular(0, 10, 100).Concat(Regular(2_000, 10, 50)).Concat(Regular(5_000, 3, 200)).Concat([9_000, 9_001]).ToArray();
        return new TheoryData<string, long[]>
        {
            { "empty", [] },
            { "one row", [42] },
            { "two rows", [7, 3] },
            { "steps", Regular(0, 1, 1000) },
            { "epoch micros", Regular(1_614_834_367_000_000, 1_000_000, 777) },
            { "negative step", Regular(100, -7, 50) },
            { "constant", Regular(5, 0, 20) },
            { "irregular", irregular },
            { "mixed", mixed },
            { "extremes", [long.MinValue, 0, long.MaxValue] },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void From_AnyArray_ReadsBackIdentically(string name, long[] ts)
    {
        var axis = TimeAxis.From(ts.ToArray());

        Assert.Equal(ts.Length, axis.Length);
        Assert.Equal(ts, axis.ToArray());
        Assert.Equal(ts, axis); // enumerator
        for (int i = 0; i < ts.Length; i++)
        {
            Assert.Equal(ts[i], axis[i]);
        }
        if (ts.Length > 0)
        {
            Assert.Equal(ts[^1], axis[^1]);
        }
        // Every sub-range through CopyTo / ToArray(start, length).
        for (int start = 0; start <= ts.Length; start += Math.Max(1, ts.Length / 17))
        {
            for (int len = 0; start + len <= ts.Length; len += Math.Max(1, ts.Length / 13))
            {
                Assert.Equal(ts.AsSpan(start, len).ToArray(), axis.ToArray(start, len));
            }
        }
        Assert.True(axis.Equals(TimeAxis.From(ts.ToArray())), name);
        Assert.Equal(new Series("s", ts, new float[ts.Length], 1).Timestamps, axis);
    }

    [Fact]
    public void From_RegularArray_IsOneRun()
    {
        var axis = TimeAxis.From(Enumerable.Range(0, 100_000).Select(i => 1000L + 5 * i).ToArray());

        Assert.True(axis.IsCompact);
        Assert.Equal(1, axis.RunCount);
        Assert.Equal(TimeAxis.Regular(1000, 5, 100_000), axis);
    }

    [Fact]
    public void From_MixedArray_IsAFewRuns()
    {
        var ts = Enumerable.Range(0, 100).Select(i => (long)i)
            .Concat(Enumerable.Range(0, 100).Select(i => 500L + 2 * i))
            .Concat(Enumerable.Range(0, 100).Select(i => 10_000L + 7 * i)).ToArray();

        var axis = TimeAxis.From(ts);

        Assert.True(axis.IsCompact);
        Assert.Equal(3, axis.RunCount);
        Assert.Equal(ts, axis.ToArray());
    }

    [Fact]
    public void From_IrregularArray_KeepsTheArray()
    {
        var rnd = new Random(3);
        var ts = new long[1000];
        for (int i = 1; i < ts.Length; i++)
        {
            ts[i] = ts[i - 1] + 1 + rnd.Next(100);
        }

        var axis = TimeAxis.From(ts);

        Assert.False(axis.IsCompact);
        Assert.Equal(ts, axis.ToArray());
    }

    [Fact]
    public void Equals_CompactAndArrayForms_Compare()
    {
        var compact = TimeAxis.Regular(0, 1, 3);
        var array = TimeAxis.From([0, 1, 5]);

        Assert.False(array.IsCompact);
        Assert.NotEqual(compact, array);
        Assert.Equal(compact, TimeAxis.From([0, 1, 2]));
        Assert.Equal(compact.GetHashCode(), TimeAxis.From([0, 1, 2]).GetHashCode());
        Assert.Throws<ArgumentOutOfRangeException>(() => compact[3]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Checksum_OfAxis_EqualsChecksumOfTheArraysBytes(string name, long[] ts)
    {
        ulong expected = Hashing.Checksum(MemoryMarshal.AsBytes(ts.AsSpan()));

        Assert.Equal(expected, Hashing.Checksum(TimeAxis.From(ts.ToArray())));
        Assert.True(expected == Hashing.Checksum(TimeAxis.From(ts.ToArray())), name);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(511)]
    [InlineData(512)]
    [InlineData(513)]
    [InlineData(5_003)]
    public void Checksum_CompactAxisAcrossChunks_EqualsArrayChecksum(int n)
    {
        var ts = Enumerable.Range(0, n).Select(i => 1_600_000_000_000_000L + 250_000L * i).ToArray();

        Assert.Equal(Hashing.Checksum(MemoryMarshal.AsBytes(ts.AsSpan())), Hashing.Checksum(TimeAxis.Regular(ts.FirstOrDefault(), 250_000, n)));
    }

    [Fact]
    public void Fingerprint_SameData_SameValueWhicheverTimeForm()
    {
        float[] values = [1, 2, 3, 4];
        var compact = new SeriesSet([new Series("a", TimeAxis.Regular(10, 1, 4), values, 1)], ["v"], TimestampKind.Step, "x");
        // The fingerprint as it was computed over a long[] (Detector.Fingerprint before TimeAxis).
        ulong h = Hashing.Fnv1a64(System.Text.Encoding.UTF8.GetBytes("v"));
        h = Hashing.Mix(h, (long)Hashing.Fnv1a64(System.Text.Encoding.UTF8.GetBytes("a")),
            (long)Hashing.Checksum(MemoryMarshal.AsBytes(new long[] { 10, 11, 12, 13 }.AsSpan())),
            (long)Hashing.Checksum(MemoryMarshal.AsBytes(values.AsSpan())));

        Assert.Equal(h.ToString("x16"), Detector.Fingerprint(compact));
    }

    [Fact]
    public void TimeRuns_SpanAndStepAppends_MatchOneAtATime()
    {
        var rnd = new Random(5);
        var ts = new List<long>();
        long t = 0;
        for (int block = 0; block < 200; block++)
        {
            long step = rnd.Next(3) == 0 ? rnd.Next(1, 50) : 1;
            int len = rnd.Next(1, 30);
            for (int i = 0; i < len; i++)
            {
                ts.Add(t);
                t += step;
            }
            t += rnd.Next(0, 5);
        }
        var one = new TimeRuns();
        foreach (long x in ts)
        {
            one.Append(x);
        }
        var spans = new TimeRuns();
        for (int i = 0; i < ts.Count;)
        {
            int len = Math.Min(rnd.Next(1, 40), ts.Count - i);
            spans.Append(ts.GetRange(i, len).ToArray());
            i += len;
        }
        var steps = new TimeRuns();
        steps.AppendSteps(0, 5);
        steps.AppendSteps(5, 1);
        steps.AppendSteps(6, 2);
        steps.AppendSteps(100, 3);
        steps.AppendSteps(103, 4);

        Assert.Equal(ts, one.ToAxis().ToArray());
        Assert.Equal(ts, spans.ToAxis().ToArray());
        Assert.Equal(one.RunCount, spans.RunCount);
        Assert.Equal([0L, 1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103, 104, 105, 106], steps.ToAxis().ToArray());
        Assert.Equal(2, steps.RunCount);
    }
}
