using SparkAnomaly.Data;

namespace SparkAnomaly.Tests.Data;

public sealed class DataReaderCsvTests : IDisposable
{
    private readonly TemporaryDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Read_LongFormat_GroupsSeriesInFirstAppearanceOrder()
    {
        var p = _dir.File("long.csv", """
            series_id,timestamp,a,b,label,split
            s2,0,1.5,10,0,train
            s1,0,2.5,20,1,test
            s2,1,3.5,30,,
            s1,1,4.5,40,0,TEST
            """);

        var set = DataReader.Read(p);

        Assert.Equal(["s2", "s1"], set.Series.Select(s => s.Id));
        Assert.Equal(["a", "b"], set.ChannelNames);
        Assert.Equal(TimestampKind.Step, set.TimestampKind);
        Assert.Equal(p, set.Source);
        var s2 = set.Series[0];
        Assert.Equal([0L, 1L], s2.Timestamps);
        Assert.Equal([1.5f, 10f, 3.5f, 30f], s2.Values);
        Assert.Equal([(sbyte)0, Series.NoLabel], s2.Labels!);
        Assert.Equal([RowSplit.Train, RowSplit.Unspecified], s2.Splits!);
        var s1 = set.Series[1];
        Assert.Equal([(sbyte)1, (sbyte)0], s1.Labels!);
        Assert.Equal([RowSplit.Test, RowSplit.Test], s1.Splits!);
    }

    [Fact]
    public void Read_SemicolonDelimiter_IsDetected()
    {
        var p = _dir.File("semi.csv", "series_id;timestamp;x;y\nA;1;0.5;1e3\nA;2;-2;3.25\n");

        var set = DataReader.Read(p);

        Assert.Equal(["x", "y"], set.ChannelNames);
        Assert.Equal([0.5f, 1000f, -2f, 3.25f], set.Series[0].Values);
    }

    [Theory]
    [InlineData("\t", "tab.tsv")]
    [InlineData("|", "pipe.txt")]
    public void Read_OtherDelimiters_AreDetected(string delimiter, string name)
    {
        var p = _dir.File(name, string.Join('\n', new[] { "series_id,timestamp,x", "A,1,2", "A,2,3" }.Select(l => l.Replace(",", delimiter))));

        var set = DataReader.Read(p);

        Assert.Equal([2f, 3f], set.Series[0].Values);
    }

    [Fact]
    public void Read_ExplicitDelimiter_OverridesDetection()
    {
        // Detection would pick ',' (two commas against one ';').
        var p = _dir.File("explicit.csv", "series_id;x,y,z\nA;2.5\nA;3\n");

        var set = DataReader.Read(p, new ReadOptions { Delimiter = ';' });

        Assert.Equal(["x,y,z"], set.ChannelNames);
        Assert.Equal([2.5f, 3f], set.Series[0].Values);
    }

    [Fact]
    public void Read_QuotedFields_KeepEmbeddedDelimiterQuoteAndNewline()
    {
        var p = _dir.File("quoted.csv", "series_id,timestamp,\"a,1\",b\n\"pump, \"\"left\"\"\",1,\"1.5\",2\n\"multi\nline\",1,3,4\n");

        var set = DataReader.Read(p);

        Assert.Equal(["pump, \"left\"", "multi\nline"], set.Series.Select(s => s.Id));
        Assert.Equal(["a,1", "b"], set.ChannelNames);
        Assert.Equal([1.5f, 2f], set.Series[0].Values);
        Assert.Equal([3f, 4f], set.Series[1].Values);
    }

    [Fact]
    public void Read_BomAndCrLf_AreTolerated()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat("series_id,timestamp,x\r\nA,1,7\r\n\r\nA,2,8\r\n"u8.ToArray()).ToArray();
        var p = _dir.Bytes("bom.csv", bytes);

        var set = DataReader.Read(p);

        Assert.Equal(["x"], set.ChannelNames);
        Assert.Equal([7f, 8f], set.Series[0].Values);
    }

    [Fact]
    public void Read_NoSeriesOrTimeColumn_OneSeriesNamedAfterFileWithSteps()
    {
        var p = _dir.File("pump7.csv", "x,y\n1,2\n3,4\n5,6\n");

        var set = DataReader.Read(p);

        var s = Assert.Single(set.Series);
        Assert.Equal("pump7", s.Id);
        Assert.Equal([0L, 1L, 2L], s.Timestamps);
        Assert.Equal(TimestampKind.Step, set.TimestampKind);
        Assert.Null(s.Labels);
        Assert.Null(s.Splits);
        Assert.False(set.HasLabels);
    }

    [Fact]
    public void Read_IsoTimestamps_AreUtcMicroseconds()
    {
        var p = _dir.File("iso.csv", """
            series_id,timestamp,x
            A,2020-02-08T13:30:47,1
            A,2020-02-08 13:30:48.5,2
            A,2020-02-08T15:30:49+02:00,3
            A,2020-02-08T13:30:50Z,4
            """);

        var set = DataReader.Read(p);

        long t0 = new DateTimeOffset(2020, 2, 8, 13, 30, 47, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1000;
        Assert.Equal(TimestampKind.DateTime, set.TimestampKind);
        Assert.Equal([t0, t0 + 1_500_000, t0 + 2_000_000, t0 + 3_000_000], set.Series[0].Timestamps);
    }

    [Theory]
    [InlineData("1580000000", "1580000060", TimestampKind.EpochSeconds)]
    [InlineData("1580000000000", "1580000060000", TimestampKind.EpochMillis)]
    [InlineData("0", "1", TimestampKind.Step)]
    [InlineData("-5", "100", TimestampKind.Step)]
    public void Read_IntegerTimestamps_KindFollowsDocumentedRange(string a, string b, TimestampKind expected)
    {
        var p = _dir.File("ints.csv", $"series_id,timestamp,x\nA,{a},1\nA,{b},2\n");

        var set = DataReader.Read(p);

        Assert.Equal(expected, set.TimestampKind);
        Assert.Equal([long.Parse(a), long.Parse(b)], set.Series[0].Timestamps);
    }

    [Fact]
    public void Read_OutOfOrderUnderSort_SortsRowsWithLabelsAndWarns()
    {
        var p = _dir.File("order.csv", "series_id,timestamp,x,label\nA,3,30,1\nA,1,10,0\nA,2,20,\n");

        var set = DataReader.Read(p, null, out var warnings);

        var s = set.Series[0];
        Assert.Equal([1L, 2L, 3L], s.Timestamps);
        Assert.Equal([10f, 20f, 30f], s.Values);
        Assert.Equal([(sbyte)0, Series.NoLabel, (sbyte)1], s.Labels!);
        Assert.Contains(warnings, w => w.Contains("'A'") && w.Contains("sorted"));
    }

    [Fact]
    public void Read_ChannelsOptionAndOtherColumnNames_SelectInGivenOrder()
    {
        var p = _dir.File("names.csv", "Machine,T,a,b,c,Anomaly\nm1,1,1,2,3,1\nm1,2,4,5,6,0\n");
        var options = new ReadOptions { SeriesColumn = "machine", TimeColumn = "t", Channels = ["c", "A"], LabelColumn = "anomaly" };

        var set = DataReader.Read(p, options);

        Assert.Equal(["c", "a"], set.ChannelNames);
        Assert.Equal("m1", set.Series[0].Id);
        Assert.Equal([3f, 1f, 6f, 4f], set.Series[0].Values);
        Assert.Equal([(sbyte)1, (sbyte)0], set.Series[0].Labels!);
    }

    [Fact]
    public void Read_NonNumericColumn_IsIgnoredWithWarning()
    {
        var p = _dir.File("text.csv", "series_id,timestamp,x,comment\nA,1,1,ok\nA,2,2,fine\n");

        var set = DataReader.Read(p, null, out var warnings);

        Assert.Equal(["x"], set.ChannelNames);
        Assert.Contains(warnings, w => w.Contains("comment"));
    }

    [Fact]
    public void Read_MissingInterpolate_FillsLinearlyInTimeAndEdgesWithNearest()
    {
        var p = _dir.File("gaps.csv", "series_id,timestamp,x,y\nA,0,,1\nA,1,2,NaN\nA,3,,inf\nA,4,8,7\nA,5,null,\n");

        var set = DataReader.Read(p, new ReadOptions { Missing = MissingPolicy.Interpolate }, out var warnings);

        // x: edge 2, 2, (t=3 between t=1:2 and t=4:8) 6, 8, edge 8; y: 1, (t=1,3 between t=0:1 and t=4:7) 2.5, 5.5, 7, edge 7.
        Assert.Equal([2f, 1f, 2f, 2.5f, 6f, 5.5f, 8f, 7f, 8f, 7f], set.Series[0].Values);
        Assert.Contains(warnings, w => w.Contains("interpolated 6"));
    }

    [Fact]
    public void Read_MissingDrop_RemovesRowsAndEmptySeries()
    {
        var p = _dir.File("drop.csv", "series_id,timestamp,x,y\nA,0,1,1\nA,1,,2\nB,0,NaN,1\nA,2,3,3\n");

        var set = DataReader.Read(p, new ReadOptions { Missing = MissingPolicy.Drop }, out var warnings);

        var s = Assert.Single(set.Series);
        Assert.Equal("A", s.Id);
        Assert.Equal([0L, 2L], s.Timestamps);
        Assert.Equal([1f, 1f, 3f, 3f], s.Values);
        Assert.Contains(warnings, w => w.Contains("'B'") && w.Contains("left out"));
        Assert.Contains(warnings, w => w.Contains("dropped 1 of 3"));
    }

    [Fact]
    public void Read_ShortSeries_IsKept()
    {
        var p = _dir.File("short.csv", "series_id,timestamp,x\nA,0,1\nB,0,2\nB,1,3\n");

        var set = DataReader.Read(p);

        Assert.Equal([1, 2], set.Series.Select(s => s.Length));
    }

    [Fact]
    public void Read_IrregularSampling_Warns()
    {
        var p = _dir.File("irregular.csv", "series_id,timestamp,x\nA,0,1\nA,1,1\nA,2,1\nA,10,1\n");

        DataReader.Read(p, null, out var warnings);

        Assert.Contains(warnings, w => w.Contains("'A'") && w.Contains("irregular sampling"));
    }

    [Fact]
    public void Read_ManyRowsAcrossBufferRefills_AllRowsRead()
    {
        var sb = new System.Text.StringBuilder("series_id,timestamp,x,y\n");
        const int rows = 60_000;
        for (int i = 0; i < rows; i++)
        {
            sb.Append(i % 3 == 0 ? "\"s,0\"" : "s1").Append(',').Append(i).Append(',').Append(i * 0.5f).Append(',').Append(-i).Append('\n');
        }
        var p = _dir.File("big.csv", sb.ToString());

        var set = DataReader.Read(p);

        Assert.Equal(rows, set.TotalRows);
        Assert.Equal(["s,0", "s1"], set.Series.Select(s => s.Id));
        var s1 = set.Series[1];
        Assert.Equal(rows - rows / 3, s1.Length);
        Assert.Equal(s1.Timestamps[^1] * 0.5f, s1.Values[^2]);
    }

    [Fact]
    public void Read_UnnamedIndexColumn_IsNotAChannel()
    {
        // pandas DataFrame.to_csv() writes its index as a first column with an empty name.
        var p = _dir.File("pandas.csv", ",series_id,timestamp,x\n0,A,1,5\n1,A,2,6\n");

        var set = DataReader.Read(p, null, out var warnings);

        Assert.Equal(["x"], set.ChannelNames);
        Assert.Contains(warnings, w => w.Contains("unnamed column 1"));
    }

    [Fact]
    public void Read_UnnamedNumericColumn_WarnsItHasNoName_NotThatItIsNotNumeric()
    {
        var p = _dir.File("blank.csv", "series_id,timestamp,a,,b\nA,1,1,2,3\nA,2,4,5,6\n");

        var set = DataReader.Read(p, null, out var warnings);

        Assert.Equal(["a", "b"], set.ChannelNames);
        Assert.Contains(warnings, w => w.Contains("unnamed column 4") && w.Contains("header cell is empty"));
        Assert.DoesNotContain(warnings, w => w.Contains("not numeric"));
    }

    [Fact]
    public void Read_DateTimeColumnNotNamedTimestamp_WarnsWithTheTimeColumnFlag()
    {
        // SKAB's raw files: ';'-separated, the time in a column named 'datetime'.
        var p = _dir.File("valve.csv", "datetime;Current;Pressure\n2020-03-09 10:14:33;1.33;0.05\n2020-03-09 10:14:34;1.35;0.38\n");

        DataReader.Read(p, null, out var warnings);
        var fixedSet = DataReader.Read(p, new ReadOptions { TimeColumn = "datetime" }, out var fixedWarnings);

        var warning = Assert.Single(warnings, w => w.Contains("not numeric"));
        Assert.Contains("ignored columns that are not numeric: datetime", warning);
        Assert.Contains("pass --time-column \"datetime\"", warning);
        Assert.DoesNotContain(fixedWarnings, w => w.Contains("not numeric"));
        Assert.Equal(["Current", "Pressure"], fixedSet.ChannelNames);
        Assert.Equal(TimestampKind.DateTime, fixedSet.TimestampKind);
    }

    [Fact]
    public void Read_TextColumnBesideATimestampColumn_KeepsTheChannelsHint()
    {
        var p = _dir.File("notes.csv", "timestamp,x,update_time_note\n1,5,a\n2,6,b\n");

        DataReader.Read(p, null, out var warnings);

        var warning = Assert.Single(warnings, w => w.Contains("not numeric"));
        Assert.Contains("pass --channels", warning);
        Assert.DoesNotContain("--time-column", warning);
    }

    [Fact]
    public void Read_ModelChannelMissing_SaysTheModelNeedsIt_NotToPassChannels()
    {
        var p = _dir.File("ims.csv", "timestamp,Bearing 1,Bearing 2\n1,0.06,0.07\n2,0.06,0.07\n");

        var e = Assert.Throws<SparkAnomalyException>(() => DataReader.Read(p, new ReadOptions
        {
            Channels = ["Current", "Pressure"], ChannelsSource = "model 'run1/model.parquet'",
        }));

        Assert.Contains("no column 'Current', a channel of model 'run1/model.parquet'", e.Message);
        Assert.Contains("(Current, Pressure)", e.Message);
        Assert.Contains("rename the columns, or train a model on this data", e.Message);
        Assert.DoesNotContain("Pass --channels", e.Message);
    }

    [Fact]
    public void Read_SeriesColumnNull_IgnoresSeriesColumnAndNamesAfterFile()
    {
        var p = _dir.File("one.csv", "series_id,timestamp,x\nA,1,5\nB,2,6\n");

        var set = DataReader.Read(p, new ReadOptions { SeriesColumn = null, Channels = ["x"] });

        var s = Assert.Single(set.Series);
        Assert.Equal("one", s.Id);
        Assert.Equal([5f, 6f], s.Values);
    }

    [Fact]
    public void Read_EmptyLabelColumn_GivesNoLabelRows()
    {
        var p = _dir.File("nolabels.csv", "series_id,timestamp,x,label,split\nA,1,5,,\nA,2,6,,\n");

        var set = DataReader.Read(p);

        Assert.Equal([Series.NoLabel, Series.NoLabel], set.Series[0].Labels!);
        Assert.Equal([RowSplit.Unspecified, RowSplit.Unspecified], set.Series[0].Splits!);
    }

    [Fact]
    public void Read_DirectoryWithEmptyFirstPartAndNoSeriesColumn_NeverReturnsEmptySeries()
    {
        _dir.File("parts/part-00000.csv", "timestamp,x\n");
        _dir.File("parts/part-00001.csv", "timestamp,x\n1,2\n2,3\n");
        _dir.File("parts/part-00002.csv", "");

        var set = DataReader.Read(Path.Combine(_dir.Path, "parts"));

        var s = Assert.Single(set.Series);
        Assert.Equal("parts", s.Id);
        Assert.Equal([2f, 3f], s.Values);
    }

    [Fact]
    public void Read_SeriesSpreadOverParts_KeepFirstAppearanceOrderAndMergeRows()
    {
        _dir.File("multi/part-00000.csv", "series_id,timestamp,x\nB,1,1\nA,1,2\n");
        _dir.File("multi/part-00001.csv", "series_id,timestamp,x\nC,1,3\nB,2,4\n");

        var set = DataReader.Read(Path.Combine(_dir.Path, "multi"));

        Assert.Equal(["B", "A", "C"], set.Series.Select(s => s.Id));
        Assert.Equal([1f, 4f], set.Series[0].Values);
    }
}
