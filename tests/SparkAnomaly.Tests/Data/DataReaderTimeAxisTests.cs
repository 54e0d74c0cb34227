using System.Globalization;
using System.Text;
using SparkAnomaly.Data;
using static SparkAnomaly.Tests.Data.ParquetFiles;

namespace SparkAnomaly.Tests.Data;

/// <summary>
/// The readers' compact time axis and the Parquet reader's column-at-a-time path: the same series,
/// timestamps, values, warnings and messages as the CSV reader and the row-by-row path.
/// </summary>
public sealed class DataReaderTimeAxisTests : IDisposable
{
    private readonly TemporaryDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed record Row(string Series, long Time, float A, float B);

    private string Csv(string name, IEnumerable<Row> rows)
    {
        var sb = new StringBuilder("series_id,timestamp,a,b\n");
        foreach (var r in rows)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{r.Series},{r.Time},{r.A.ToString("R", CultureInfo.InvariantCulture)},{r.B.ToString("R", CultureInfo.InvariantCulture)}\n");
        }
        return _dir.File(name, sb.ToString());
    }

    private string Parquet(string name, params IEnumerable<Row>[] rowGroups)
    {
        string path = Path.Combine(_dir.Path, name);
        Write(path, rowGroups.Select(g =>
        {
            var rows = g.ToList();
            return new[]
            {
                Strings("series_id", rows.Select(r => r.Series).ToArray()),
                Longs("timestamp", rows.Select(r => r.Time).ToArray()),
                Floats("a", rows.Select(r => r.A).ToArray()),
                Floats("b", rows.Select(r => r.B).ToArray()),
            };
        }).ToArray());
        return path;
    }

    private static float V(long t, int c) => (float)Math.Sin(t * 0.37 + c);

    private static IEnumerable<Row> Series(string id, IEnumerable<long> times) => times.Select(t => new Row(id, t, V(t, 0), V(t, 1)));

    private static IEnumerable<long> Regular(long start, long step, int n) => Enumerable.Range(0, n).Select(i => start + step * i);

    /// <summary>The irregular-sampling warning as the per-row version words it (integer times).</summary>
    private static string? IrregularWarning(IReadOnlyList<long> ts)
    {
        if (ts.Count < 3)
        {
            return null;
        }
        var diffs = Enumerable.Range(1, ts.Count - 1).Select(i => ts[i] - ts[i - 1]).OrderBy(d => d).ToArray();
        long median = diffs[diffs.Length / 2];
        long tolerance = Math.Max(median / 100, 0);
        int off = diffs.Count(d => Math.Abs(d - median) > tolerance);
        return off == 0 ? null : $"irregular sampling: {off} of {ts.Count - 1} steps differ from the median step {median} (min {diffs[0]}, max {diffs[^1]}).";
    }

    private static void AssertSameSet(SeriesSet expected, SeriesSet actual)
    {
        Assert.Equal(expected.Series.Select(s => s.Id), actual.Series.Select(s => s.Id));
        for (int k = 0; k < expected.Series.Count; k++)
        {
            Assert.Equal(expected.Series[k].Timestamps.ToArray(), actual.Series[k].Timestamps.ToArray());
            Assert.Equal(expected.Series[k].Timestamps, actual.Series[k].Timestamps);
            Assert.Equal(expected.Series[k].Values, actual.Series[k].Values);
        }
    }

    [Fact]
    public void Read_RegularIrregularAndMixedSeries_CsvAndParquetGiveTheSameTimestampsAndWarnings()
    {
        var rnd = new Random(17);
        var irregular = new List<long> { 0 };
        for (int i = 1; i < 3000; i++)
        {
            irregular.Add(irregular[^1] + 1 + rnd.Next(50)); // > 1024 runs: one long per row
        }
        var mixed = Regular(0, 10, 400).Concat(Regular(5_000, 10, 300)).Concat(Regular(9_000, 3, 300)).ToList();
        var regular = Regular(1_600_000_000, 60, 1000).ToList();
        var rows = Series("irr", irregular).Concat(Series("mix", mixed)).Concat(Series("reg", regular)).ToList();
        string csv = Csv("all.csv", rows);
        // Row groups that cut through series, and one that holds the end of one and the start of another.
        string pq = Parquet("all.parquet", rows.Take(1000), rows.Skip(1000).Take(2500), rows.Skip(3500));

        var fromCsv = DataReader.Read(csv, null, out var csvWarnings);
        var fromPq = DataReader.Read(pq, null, out var pqWarnings);

        AssertSameSet(fromCsv, fromPq);
        Assert.Equal(irregular, fromPq.Series[0].Timestamps.ToArray());
        Assert.Equal(mixed, fromPq.Series[1].Timestamps.ToArray());
        Assert.Equal(regular, fromPq.Series[2].Timestamps.ToArray());
        Assert.True(fromPq.Series[1].Timestamps.IsCompact);
        Assert.Equal(3, fromPq.Series[1].Timestamps.RunCount);
        Assert.True(fromPq.Series[2].Timestamps.IsCompact);
        Assert.Equal(1, fromPq.Series[2].Timestamps.RunCount);
        Assert.False(fromPq.Series[0].Timestamps.IsCompact);
        foreach (var (id, ts) in new[] { ("irr", irregular), ("mix", mixed) })
        {
            string expected = IrregularWarning(ts)!;
            Assert.Contains(csvWarnings, w => w.StartsWith($"Series '{id}'") && w.EndsWith(expected));
            Assert.Contains(pqWarnings, w => w.StartsWith($"Series '{id}'") && w.EndsWith(expected));
        }
        Assert.DoesNotContain(pqWarnings, w => w.StartsWith("Series 'reg'"));
        Assert.Equal(csvWarnings.Select(w => w.Replace("all.csv", "F")), pqWarnings.Select(w => w.Replace("all.parquet", "F")));
    }

    [Fact]
    public void Read_InterleavedSeriesInOneRowGroup_SameAsCsv()
    {
        var rows = new List<Row>();
        for (int t = 0; t < 500; t++)
        {
            rows.Add(new Row(t % 3 == 0 ? "a" : "b", t, V(t, 0), V(t, 1)));
            if (t % 7 == 0)
            {
                rows.Add(new Row("c", t, V(t, 2), V(t, 3)));
            }
        }

        var fromCsv = DataReader.Read(Csv("i.csv", rows));
        var fromPq = DataReader.Read(Parquet("i.parquet", rows.Take(300), rows.Skip(300)));

        AssertSameSet(fromCsv, fromPq);
        Assert.Equal(Regular(0, 3, 167), fromPq.Series[0].Timestamps);
    }

    [Fact]
    public void Read_OneSeriesPerRowGroup_SameAsCsv()
    {
        var rows = Series("x", Regular(0, 1, 400)).Concat(Series("y", Regular(100, 2, 300))).ToList();

        var fromCsv = DataReader.Read(Csv("o.csv", rows));
        var fromPq = DataReader.Read(Parquet("o.parquet", rows.Take(200), rows.Skip(200).Take(200), rows.Skip(400)));

        AssertSameSet(fromCsv, fromPq);
        Assert.Equal(TimeAxis.Regular(100, 2, 300), fromPq.Series[1].Timestamps);
    }

    [Fact]
    public void Read_NaNInALaterChannelAndRowGroup_RejectNamesTheRowAsBefore()
    {
        var rows = Series("s", Regular(0, 1, 50)).ToList();
        rows[37] = rows[37] with { B = float.NaN };

        var e = Assert.Throws<SparkAnomalyException>(() => DataReader.Read(Parquet("nan.parquet", rows.Take(20), rows.Skip(20))));

        Assert.Contains("row 38 (row group 1), column 'b'", e.Message);
        Assert.Contains("--missing interpolate|drop", e.Message);
    }

    [Theory]
    [InlineData(MissingPolicy.Interpolate)]
    [InlineData(MissingPolicy.Drop)]
    public void Read_NaNInALaterChannel_MissingPolicySameAsCsv(MissingPolicy policy)
    {
        var rows = Series("s", Regular(0, 5, 60)).Concat(Series("t", Regular(0, 5, 60))).ToList();
        rows[41] = rows[41] with { B = float.NaN };
        rows[90] = rows[90] with { A = float.PositiveInfinity };
        var options = new ReadOptions { Missing = policy };

        var fromCsv = DataReader.Read(Csv("m.csv", rows), options);
        var fromPq = DataReader.Read(Parquet("m.parquet", rows.Take(30), rows.Skip(30).Take(50), rows.Skip(80)), options);

        AssertSameSet(fromCsv, fromPq);
    }

    [Fact]
    public void Read_DuplicateInsideARegularRun_NamesTheRows()
    {
        var times = Regular(0, 1, 40).Concat([39L]).Concat(Regular(40, 1, 10)).ToList();

        var e = Assert.Throws<SparkAnomalyException>(() => DataReader.Read(Parquet("dup.parquet", Series("s", times))));

        Assert.Contains("duplicate timestamp 39 in series 's'", e.Message);
        Assert.Contains("row 41", e.Message);
    }

    [Fact]
    public void Read_BackwardsStepBetweenRuns_SortsAndReadsTheSameAsSortedInput()
    {
        var times = Regular(50, 1, 50).Concat(Regular(0, 1, 50)).ToList();

        var set = DataReader.Read(Parquet("back.parquet", Series("s", times)), null, out var warnings);

        Assert.Equal(TimeAxis.Regular(0, 1, 100), set.Series[0].Timestamps);
        Assert.Contains(warnings, w => w.Contains("have been sorted"));
        Assert.Equal(times.OrderBy(t => t).Select(t => V(t, 1)), Enumerable.Range(0, 100).Select(r => set.Series[0].Values[r * 2 + 1]));
        var e = Assert.Throws<SparkAnomalyException>(() => DataReader.Read(Parquet("back2.parquet", Series("s", times)), new ReadOptions { Order = OrderPolicy.Reject }));
        Assert.Contains("timestamp 0 is earlier than the previous row's 99", e.Message);
    }

    [Fact]
    public void Read_RequiredSeriesIdColumn_LoadsLikeTheNullableOne()
    {
        // Spark and pyarrow write non-null columns as required: they carry no definition levels.
        var rows = Series("x", Regular(1, 1, 3)).Concat(Series("y", Regular(1, 1, 3))).ToList();
        string required = Path.Combine(_dir.Path, "required.parquet");
        Write(required, [
            new PqColumn(new Parquet.Schema.DataField<string>("series_id", nullable: false), rows.Select(r => r.Series).ToArray()),
            Longs("timestamp", rows.Select(r => r.Time).ToArray()),
            Floats("a", rows.Select(r => r.A).ToArray()),
            Floats("b", rows.Select(r => r.B).ToArray()),
        ]);

        AssertSameSet(DataReader.Read(Parquet("nullable.parquet", rows)), DataReader.Read(required));
    }

    [Theory]
    [InlineData("csv")]
    [InlineData("parquet")]
    public void Read_IntegerTimesFurtherApartThanLongRange_AreOrderedByValue(string format)
    {
        // Differences of these times overflow a long; order must still follow the values, not the wrapped step.
        long[] descending = [5_000_000_000_000_000_000, -5_000_000_000_000_000_000, -4_999_999_999_999_999_999];
        long[] ascending = [-5_000_000_000_000_000_000, 5_000_000_000_000_000_000];
        string Write(string name, long[] times) => format == "csv"
            ? Csv(name + ".csv", Series("s", times))
            : Parquet(name + ".parquet", Series("s", times));

        var sorted = DataReader.Read(Write("descending", descending));
        var kept = DataReader.Read(Write("ascending", ascending), new ReadOptions { Order = OrderPolicy.Reject });

        Assert.Equal(descending.Order(), sorted.Series[0].Timestamps.ToArray());
        Assert.Equal(ascending, kept.Series[0].Timestamps.ToArray());
    }
}
