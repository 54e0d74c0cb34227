using System.Globalization;
using System.Text;
using Parquet.Schema;
using SparkAnomaly.Data;
using static SparkAnomaly.Tests.Data.ParquetFiles;

namespace SparkAnomaly.Tests.Data;

public sealed class DataReaderParquetTests : IDisposable
{
    private readonly TemporaryDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly DateTime s_t0 = new(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc);

    /// <summary>Rows of the shared fixture: series, seconds after t0, a, b, label, split.</summary>
    private static readonly (string Series, int Sec, float A, float B, int? Label, string Split)[] s_rows =
    [
        ("s1", 0, 0.1f, -1.25f, 0, "train"),
        ("s1", 1, 0.2f, 3.5e-7f, 0, "train"),
        ("s1", 3, 1.0f / 3, 12345.678f, 1, "test"),
        ("s1", 2, 0.3f, 42f, null, "test"),
        ("s2", 10, -5f, 6f, 0, ""),
        ("s2", 11, 7.75f, float.Epsilon * 1e30f, 1, ""),
        ("s2", 12, 8f, 9f, 0, "test"),
    ];

    private static string Iso(int sec) => s_t0.AddSeconds(sec).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    private string WriteCsv()
    {
        var sb = new StringBuilder("series_id,timestamp,a,b,label,split\n");
        foreach (var r in s_rows)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{r.Series},{Iso(r.Sec)},{r.A.ToString("R", CultureInfo.InvariantCulture)},{r.B.ToString("R", CultureInfo.InvariantCulture)},{r.Label},{r.Split}\n");
        }
        return _dir.File("same.csv", sb.ToString());
    }

    /// <summary>Spark layout: series_id=s1/part-00000 (one row group), series_id=s2/part-00001 (two row groups), _SUCCESS, .crc.</summary>
    private string WriteSparkDirectory()
    {
        string root = Path.Combine(_dir.Path, "spark-out");
        PqColumn[] Group(IEnumerable<(string Series, int Sec, float A, float B, int? Label, string Split)> rows)
        {
            var list = rows.ToList();
            return
            [
                Times("timestamp", list.Select(r => s_t0.AddSeconds(r.Sec)).ToArray()),
                Floats("a", list.Select(r => r.A).ToArray()),
                Doubles("b", list.Select(r => (double)r.B).ToArray()),
                NullableInts("label", list.Select(r => r.Label).ToArray()),
                Strings("split", list.Select(r => r.Split).ToArray()),
            ];
        }
        var s1 = s_rows.Where(r => r.Series == "s1").ToList();
        var s2 = s_rows.Where(r => r.Series == "s2").ToList();
        Write(Path.Combine(root, "series_id=s1", "part-00000-7c1f.c000.snappy.parquet"), Group(s1));
        Write(Path.Combine(root, "series_id=s2", "part-00001-7c1f.c000.snappy.parquet"), Group(s2.Take(1)), Group(s2.Skip(1)));
        _dir.File("spark-out/_SUCCESS", "");
        _dir.File("spark-out/series_id=s1/.part-00000-7c1f.c000.snappy.parquet.crc", "crc");
        return root;
    }

    [Fact]
    public void Read_SparkDirectoryAndCsv_GiveIdenticalSeriesSets()
    {
        var fromCsv = DataReader.Read(WriteCsv());
        var fromDir = DataReader.Read(WriteSparkDirectory());

        Assert.Equal(fromCsv.ChannelNames, fromDir.ChannelNames);
        Assert.Equal(["a", "b"], fromDir.ChannelNames);
        Assert.Equal(TimestampKind.DateTime, fromCsv.TimestampKind);
        Assert.Equal(fromCsv.TimestampKind, fromDir.TimestampKind);
        Assert.Equal(["s1", "s2"], fromCsv.Series.Select(s => s.Id));
        Assert.Equal(fromCsv.Series.Select(s => s.Id), fromDir.Series.Select(s => s.Id));
        for (int i = 0; i < fromCsv.Series.Count; i++)
        {
            var c = fromCsv.Series[i];
            var d = fromDir.Series[i];
            Assert.Equal(c.Timestamps, d.Timestamps);
            Assert.Equal(c.Values, d.Values);
            Assert.Equal(c.Labels, d.Labels);
            Assert.Equal(c.Splits, d.Splits);
        }
        // The out-of-order row of s1 was sorted in both.
        long t0 = TextValuesMicros(s_t0);
        Assert.Equal([t0, t0 + 1_000_000, t0 + 2_000_000, t0 + 3_000_000], fromDir.Series[0].Timestamps);
        Assert.Equal([(sbyte)0, 0, Series.NoLabel, 1], fromDir.Series[0].Labels!);
        Assert.Equal([RowSplit.Unspecified, RowSplit.Unspecified, RowSplit.Test], fromDir.Series[1].Splits!);
    }

    private static long TextValuesMicros(DateTime t) => (t.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    [Fact]
    public void Read_ParquetNumericTypes_AllBecomeFloatChannels()
    {
        var p = Path.Combine(_dir.Path, "types.parquet");
        Write(p,
        [
            Strings("series_id", "A", "A"),
            Longs("timestamp", 5, 6),
            Ints("i32", 1, -2),
            Longs("i64", 3_000_000_000, 4),
            Floats("f32", 0.5f, 1.5f),
            Doubles("f64", 2.25, -8),
            Decimals("dec", 1.125m, -0.5m),
            Strings("note", "x", "y"),
        ]);

        var set = DataReader.Read(p, null, out var warnings);

        Assert.Equal(["i32", "i64", "f32", "f64", "dec"], set.ChannelNames);
        Assert.Equal([1f, 3e9f, 0.5f, 2.25f, 1.125f, -2f, 4f, 1.5f, -8f, -0.5f], set.Series[0].Values);
        Assert.Equal([5L, 6L], set.Series[0].Timestamps);
        Assert.Equal(TimestampKind.Step, set.TimestampKind);
        Assert.Contains(warnings, w => w.Contains("note"));
    }

    [Fact]
    public void Read_ParquetNullsUnderInterpolate_AreFilled()
    {
        var p = Path.Combine(_dir.Path, "gaps.parquet");
        Write(p, [Strings("series_id", "A", "A", "A"), Ints("timestamp", 0, 1, 2), NullableFloats("x", 1, null, 3), Doubles("y", 1, double.NaN, 1e31)]);

        var set = DataReader.Read(p, new ReadOptions { Missing = MissingPolicy.Interpolate });

        Assert.Equal([1f, 1f, 2f, 1f, 3f, 1f], set.Series[0].Values);
    }

    [Fact]
    public void Read_ParquetWideSingleSeries_NamedAfterFileWithSteps()
    {
        var p = Path.Combine(_dir.Path, "bearing.parquet");
        Write(p, [Floats("ch1", 1, 2, 3), Floats("ch2", 4, 5, 6)]);

        var set = DataReader.Read(p);

        var s = Assert.Single(set.Series);
        Assert.Equal("bearing", s.Id);
        Assert.Equal([0L, 1L, 2L], s.Timestamps);
        Assert.Equal([1f, 4f, 2f, 5f, 3f, 6f], s.Values);
    }

    [Fact]
    public void Read_ParquetIsoTextTimestamps_AreDateTime()
    {
        var p = Path.Combine(_dir.Path, "text-ts.parquet");
        Write(p, [Strings("series_id", "A", "A"), Strings("timestamp", "2021-03-04T05:06:07Z", "2021-03-04T05:06:08Z"), Floats("x", 1, 2)]);

        var set = DataReader.Read(p);

        Assert.Equal(TimestampKind.DateTime, set.TimestampKind);
        Assert.Equal(TextValuesMicros(s_t0), set.Series[0].Timestamps[0]);
    }

    [Fact]
    public void Read_CsvPartFilesWithPartitionFolders_ReadLikeParquetParts()
    {
        _dir.File("csv-out/machine=m1/part-00000.csv", "timestamp,x\n1,10\n2,20\n");
        _dir.File("csv-out/machine=m%2F2/part-00001.csv", "timestamp,x\n1,30\n");
        _dir.File("csv-out/_SUCCESS", "");

        var set = DataReader.Read(Path.Combine(_dir.Path, "csv-out"), new ReadOptions { SeriesColumn = "machine" });

        Assert.Equal(["m/2", "m1"], set.Series.Select(s => s.Id));
        Assert.Equal(["x"], set.ChannelNames);
        Assert.Equal([10f, 20f], set.Series[1].Values);
    }

    [Fact]
    public void Read_DuckDbWrittenParquet_IsReadable()
    {
        // Independent writer: DuckDB (TIMESTAMP, DOUBLE, INTEGER, VARCHAR columns, nullable by default).
        var p = Path.Combine(_dir.Path, "duck.parquet");
        using (var conn = new DuckDB.NET.Data.DuckDBConnection("Data Source=:memory:"))
        {
            conn.Open();
            using var cmd = conn.CreateCommand();
            cmd.CommandText = $"""
                COPY (SELECT * FROM (VALUES
                    ('u1', TIMESTAMP '2021-03-04 05:06:08', 2.5::DOUBLE, 1::INTEGER, 'test'),
                    ('u1', TIMESTAMP '2021-03-04 05:06:07', 1.5::DOUBLE, 0::INTEGER, 'train'))
                  AS t(series_id, "timestamp", v, label, split))
                TO '{p}' (FORMAT PARQUET)
                """;
            cmd.ExecuteNonQuery();
        }

        var set = DataReader.Read(p);

        Assert.Equal(TimestampKind.DateTime, set.TimestampKind);
        var s = Assert.Single(set.Series);
        Assert.Equal([1.5f, 2.5f], s.Values);
        Assert.Equal(TextValuesMicros(s_t0), s.Timestamps[0]);
        Assert.Equal([(sbyte)0, (sbyte)1], s.Labels!);
        Assert.Equal([RowSplit.Train, RowSplit.Test], s.Splits!);
    }

    [Theory]
    [InlineData(DateTimeFormat.Impala)]
    [InlineData(DateTimeFormat.DateAndTime)]
    [InlineData(DateTimeFormat.DateAndTimeMicros)]
    public void Read_ParquetTimestampEncodings_AreDateTimeMicros(DateTimeFormat format)
    {
        // Spark writes INT96 (Impala) by default; others write TIMESTAMP_MILLIS/MICROS.
        var p = Path.Combine(_dir.Path, $"ts-{format}.parquet");
        var times = new[] { s_t0, s_t0.AddMilliseconds(1500) };
        Write(p, [new PqColumn(new DateTimeDataField("timestamp", format), times), Floats("x", 1, 2)]);

        var set = DataReader.Read(p);

        Assert.Equal(TimestampKind.DateTime, set.TimestampKind);
        Assert.Equal([TextValuesMicros(times[0]), TextValuesMicros(times[1])], set.Series[0].Timestamps);
    }
}
