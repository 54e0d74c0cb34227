using SparkAnomaly.Data;
using static SparkAnomaly.Tests.Data.ParquetFiles;

namespace SparkAnomaly.Tests.Data;

/// <summary>Every invalid input gives one <see cref="SparkAnomalyException"/> with a one-line message naming where and what to do.</summary>
public sealed class DataReaderValidationTests : IDisposable
{
    private readonly TemporaryDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Fails(string path, ReadOptions? options = null)
    {
        var ex = Assert.Throws<SparkAnomalyException>(() => DataReader.Read(path, options));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain('\r', ex.Message);
        return ex.Message;
    }

    private static void ContainsAll(string message, params string[] parts)
    {
        foreach (var part in parts)
        {
            Assert.True(message.Contains(part, StringComparison.Ordinal), $"'{part}' is not in: {message}");
        }
    }

    [Fact]
    public void Read_PathMissing_NamesPathAndOption()
    {
        var msg = Fails(Path.Combine(_dir.Path, "nope.csv"));

        ContainsAll(msg, "nope.csv", "does not exist", "--data");
    }

    [Fact]
    public void Read_DirectoryWithoutDataFiles_SaysWhatItLooksFor()
    {
        _dir.File("out/_SUCCESS", "");
        _dir.File("out/.part-0.crc", "x");
        _dir.File("out/readme.md", "x");
        _dir.File("out/notes.txt", "not data");

        var msg = Fails(Path.Combine(_dir.Path, "out"));

        ContainsAll(msg, "out", "no data files", "*.parquet");
    }

    [Fact]
    public void Read_DirectoryWithOnlyEmptyParts_SaysNoRows()
    {
        _dir.File("out/_SUCCESS", "");
        _dir.File("out/part-00000.csv", "");
        _dir.File("out/part-00001.csv", "series_id,timestamp,x\n");

        var msg = Fails(Path.Combine(_dir.Path, "out"));

        ContainsAll(msg, "out", "2 data file(s)", "no data rows");
    }

    [Fact]
    public void Read_EmptyFile_SaysEmpty()
    {
        var msg = Fails(_dir.File("empty.csv", ""));

        ContainsAll(msg, "empty.csv", "is empty");
    }

    [Fact]
    public void Read_HeaderOnly_SaysNoDataRows()
    {
        var msg = Fails(_dir.File("header.csv", "series_id,timestamp,x\n"));

        ContainsAll(msg, "header.csv", "no data rows");
    }

    [Fact]
    public void Read_MissingRequestedChannel_ListsColumnsAndOption()
    {
        var p = _dir.File("cols.csv", "series_id,timestamp,x,y\nA,1,1,2\n");

        var msg = Fails(p, new ReadOptions { Channels = ["x", "pressure"] });

        ContainsAll(msg, "cols.csv", "'pressure'", "found: series_id, timestamp, x, y", "--channels");
    }

    [Theory]
    [InlineData("machine", null, "--series-column")]
    [InlineData(null, "time", "--time-column")]
    public void Read_MissingRenamedColumn_NamesOption(string? series, string? time, string option)
    {
        var p = _dir.File("roles.csv", "series_id,timestamp,x\nA,1,1\n");
        var options = new ReadOptions();
        options = series is null ? options : options with { SeriesColumn = series };
        options = time is null ? options : options with { TimeColumn = time };

        var msg = Fails(p, options);

        ContainsAll(msg, "roles.csv", $"'{series ?? time}'", "found: series_id, timestamp, x", option);
    }

    [Fact]
    public void Read_DuplicateColumnNames_NamesColumnAndPositions()
    {
        var msg = Fails(_dir.File("dup.csv", "series_id,timestamp,x,x\nA,1,1,2\n"));

        ContainsAll(msg, "dup.csv", "two columns named 'x'", "columns 3 and 4");
    }

    [Fact]
    public void Read_NoNumericChannel_ListsColumnsAndOption()
    {
        var msg = Fails(_dir.File("text.csv", "series_id,timestamp,name\nA,1,foo\n"));

        ContainsAll(msg, "text.csv", "no numeric channel", "found: series_id, timestamp, name", "--channels");
        // Nothing in the file points at a delimiter or a decimal comma, so no hint about them.
        Assert.DoesNotContain("--delimiter", msg);
        Assert.DoesNotContain("decimal", msg);
    }

    [Fact]
    public void Read_NoNumericChannel_DecimalComma_HintsTheDecimalSeparator()
    {
        var msg = Fails(_dir.File("semi.csv", "series_id;timestamp;a;b\nA;1;1,5;2,5\nA;2;1,6;2,7\n"));

        ContainsAll(msg, "semi.csv", "no numeric channel", "Column 'a' holds values such as '1,5'", "decimal comma", "'1.5'");
    }

    [Fact]
    public void Read_NoNumericChannel_WrongDelimiter_HintsTheDelimiterInTheHeader()
    {
        var p = _dir.File("comma.csv", "series_id,timestamp,a,b\nA,1,1.5,2.5\nA,2,1.6,2.7\n");

        var msg = Fails(p, new ReadOptions { Delimiter = ';' });

        ContainsAll(msg, "comma.csv", "no numeric channel", "separated by ',' rather than ';'", "--delimiter ','");
    }

    [Fact]
    public void Read_NonNumericValue_NamesRowColumnAndValue()
    {
        var p = _dir.File("bad.csv", "series_id,timestamp,x,y\nA,1,1,2\nA,2,3,abc\n");

        var msg = Fails(p);

        ContainsAll(msg, "bad.csv", "data row 2", "column 'y'", "'abc'", "not a number");
    }

    [Fact]
    public void Read_RaggedRow_NamesRowAndCounts()
    {
        var p = _dir.File("ragged.csv", "series_id,timestamp,x,y\nA,1,1,2\nA,2,3\n");

        var msg = Fails(p);

        ContainsAll(msg, "ragged.csv", "data row 2", "3 fields", "header has 4", "--delimiter");
    }

    [Theory]
    [InlineData("NaN", "'NaN'")]
    [InlineData("", "''")]
    [InlineData("inf", "'inf'")]
    [InlineData("-Infinity", "'-Infinity'")]
    [InlineData("2e31", "'2e31'")]
    [InlineData("1e39", "'1e39'")]
    public void Read_MissingUnderReject_NamesRowColumnValueAndPolicy(string cell, string shown)
    {
        var p = _dir.File("nan.csv", $"series_id,timestamp,x,y\nA,1,1,2\nA,2,3,4\nA,3,{cell},5\n");

        var msg = Fails(p);

        ContainsAll(msg, "nan.csv", "data row 3", "column 'x'", shown, "--missing interpolate|drop");
    }

    [Fact]
    public void Read_DuplicateTimestamp_InFinelyInterleavedSeries_NamesTheRightRows()
    {
        // Series A and B alternate row by row for 6000 rows: row origins are kept one per row then
        // (not as runs); B's duplicate is at data rows 5000 and 5002.
        var sb = new System.Text.StringBuilder("series_id,timestamp,x\n");
        for (int i = 0; i < 3000; i++)
        {
            int tb = i == 2500 ? 2499 : i;
            sb.Append("A,").Append(i).Append(",1\nB,").Append(tb).Append(",2\n");
        }
        var p = _dir.File("interleaved.csv", sb.ToString());

        var msg = Fails(p, new ReadOptions { Order = OrderPolicy.Sort });

        ContainsAll(msg, "interleaved.csv", "duplicate timestamp 2499", "series 'B'", "data row 5002", "data row 5000");
    }

    [Fact]
    public void Read_OutOfOrder_AfterLongRuns_NamesTheRow()
    {
        // Long runs of one series each (origins kept as runs): the step back is at data row 2502.
        var sb = new System.Text.StringBuilder("series_id,timestamp,x\n");
        for (int i = 0; i < 2000; i++)
        {
            sb.Append("A,").Append(i).Append(",1\n");
        }
        for (int i = 0; i < 500; i++)
        {
            sb.Append("B,").Append(i).Append(",1\n");
        }
        sb.Append("A,5000,1\nA,4000,1\n");
        var p = _dir.File("runs.csv", sb.ToString());

        var msg = Fails(p, new ReadOptions { Order = OrderPolicy.Reject });

        ContainsAll(msg, "runs.csv", "data row 2502", "series 'A'", "--order sort");
    }

    [Fact]
    public void Read_DuplicateTimestamp_NamesSeriesTimestampAndRows()
    {
        var p = _dir.File("dupts.csv", "series_id,timestamp,x\nA,1,1\nB,5,1\nA,2,1\nB,5,2\n");

        var msg = Fails(p, new ReadOptions { Order = OrderPolicy.Reject });

        ContainsAll(msg, "dupts.csv", "duplicate timestamp 5", "series 'B'", "data row 4", "data row 2", "column 'timestamp'");
    }

    [Fact]
    public void Read_DuplicateIsoTimestamp_ShowsIsoText()
    {
        var p = _dir.File("dupiso.csv", "series_id,timestamp,x\nA,2020-01-01T00:00:01,1\nA,2020-01-01T00:00:00,1\nA,2020-01-01T00:00:01,2\n");

        var msg = Fails(p);

        ContainsAll(msg, "dupiso.csv", "duplicate timestamp 2020-01-01T00:00:01Z", "series 'A'", "data row 3", "data row 1");
    }

    [Fact]
    public void Read_OutOfOrderUnderReject_NamesRowAndOption()
    {
        var p = _dir.File("order.csv", "series_id,timestamp,x\nA,1,1\nA,3,1\nA,2,1\n");

        var msg = Fails(p, new ReadOptions { Order = OrderPolicy.Reject });

        ContainsAll(msg, "order.csv", "data row 3", "column 'timestamp'", "2 is earlier than", "3", "series 'A'", "--order sort");
    }

    [Fact]
    public void Read_BadLabel_NamesRowColumnAndValue()
    {
        var p = _dir.File("label.csv", "series_id,timestamp,x,label\nA,1,1,0\nA,2,1,2\n");

        var msg = Fails(p);

        ContainsAll(msg, "label.csv", "data row 2", "column 'label'", "'2'", "0, 1 or empty");
    }

    [Fact]
    public void Read_UnknownSplit_NamesRowColumnAndValue()
    {
        var p = _dir.File("split.csv", "series_id,timestamp,x,split\nA,1,1,train\nA,2,1,validation\n");

        var msg = Fails(p);

        ContainsAll(msg, "split.csv", "data row 2", "column 'split'", "'validation'", "train, test or empty");
    }

    [Fact]
    public void Read_BadTimestamp_NamesRowColumnAndValue()
    {
        var p = _dir.File("ts.csv", "series_id,timestamp,x\nA,2020-01-01T00:00:00,1\nA,yesterday,1\n");

        var msg = Fails(p);

        ContainsAll(msg, "ts.csv", "data row 2", "column 'timestamp'", "'yesterday'", "ISO 8601");
    }

    [Fact]
    public void Read_NonUtf8Bytes_SaysNotUtf8WithLine()
    {
        var bytes = "series_id,timestamp,x\nA,1,1\n"u8.ToArray().Concat(new byte[] { (byte)'M', 0xFC, (byte)'l', (byte)',', (byte)'2', (byte)',', (byte)'1', (byte)'\n' }).ToArray();
        var p = _dir.Bytes("latin1.csv", bytes);

        var msg = Fails(p);

        ContainsAll(msg, "latin1.csv", "line 3", "not valid UTF-8");
    }

    [Fact]
    public void Read_UnclosedQuote_NamesLine()
    {
        var msg = Fails(_dir.File("quote.csv", "series_id,timestamp,x\n\"A,1,1\nB,2,2\n"));

        ContainsAll(msg, "quote.csv", "line 2", "never closed");
    }

    [Fact]
    public void Read_InterpolateAllMissingChannel_NamesSeriesAndChannel()
    {
        var p = _dir.File("allnan.csv", "series_id,timestamp,x,y\nA,1,1,2\nB,1,NaN,2\nB,2,,3\n");

        var msg = Fails(p, new ReadOptions { Missing = MissingPolicy.Interpolate });

        ContainsAll(msg, "allnan.csv", "column 'x'", "series 'B'", "--missing drop");
    }

    [Fact]
    public void Read_DropEveryRow_SaysNothingLeft()
    {
        var p = _dir.File("alldrop.csv", "series_id,timestamp,x\nA,1,NaN\nA,2,\n");

        var msg = Fails(p, new ReadOptions { Missing = MissingPolicy.Drop });

        ContainsAll(msg, "alldrop.csv", "no rows are left", "--missing interpolate");
    }

    [Fact]
    public void Read_UnsupportedExtension_SaysWhatIsSupported()
    {
        var msg = Fails(_dir.File("data.json", "{}"));

        ContainsAll(msg, "data.json", ".csv", ".parquet");
    }

    [Fact]
    public void Read_WrongMagic_WrapsParquetErrorWithInner()
    {
        var p = _dir.File("fake.parquet", "series_id,timestamp,x\nA,1,1\n");

        var ex = Assert.Throws<SparkAnomalyException>(() => DataReader.Read(p));

        ContainsAll(ex.Message, "fake.parquet", "not a readable Parquet file", "rewrite it");
        Assert.NotNull(ex.InnerException);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Read_ModelParquet_RefusedAsNotData_PointsToModelOption()
    {
        var p = _dir.Bytes("model.parquet", SparkAnomaly.Tests.Reliability.UntrustedModelFiles.GoodModelBytes);

        var msg = Fails(p);

        ContainsAll(msg, "model.parquet", "is a SparkAnomaly model file", "--model", "--data");
    }

    [Fact]
    public void Read_ScoresParquet_RefusedAsNotData()
    {
        var p = SparkAnomaly.Tests.Skab.ScoresFixture.Write(System.IO.Path.Combine(_dir.Path, "scores.parquet"));

        var msg = Fails(p);

        ContainsAll(msg, "scores.parquet", "is a SparkAnomaly scores file", "evaluate --scores", "--data");
        // evaluate still reads it.
        Assert.NotEmpty(SparkAnomaly.Scoring.ScoresReader.Read(p).Series);
    }

    [Fact]
    public void Read_TruncatedParquet_WrapsWithInner()
    {
        var full = Path.Combine(_dir.Path, "full.parquet");
        Write(full, [Strings("series_id", "A", "A"), Ints("timestamp", 1, 2), Floats("x", 1, 2)]);
        var bytes = File.ReadAllBytes(full);
        var p = _dir.Bytes("trunc.parquet", bytes[..(bytes.Length / 2)]);

        var ex = Assert.Throws<SparkAnomalyException>(() => DataReader.Read(p));

        ContainsAll(ex.Message, "trunc.parquet", "not a readable Parquet file");
        Assert.NotNull(ex.InnerException);
    }

    [Fact]
    public void Read_CorruptParquetPages_WrapsWithInner()
    {
        var full = Path.Combine(_dir.Path, "ok.parquet");
        Write(full, [Strings("series_id", "A", "A"), Ints("timestamp", 1, 2), Floats("x", 1, 2)]);
        var bytes = File.ReadAllBytes(full);
        for (int i = 4; i < bytes.Length / 2; i++)
        {
            bytes[i] ^= 0x5A;
        }
        var p = _dir.Bytes("corrupt.parquet", bytes);

        var ex = Assert.Throws<SparkAnomalyException>(() => DataReader.Read(p));

        ContainsAll(ex.Message, "corrupt.parquet", "not a readable Parquet file");
        Assert.NotNull(ex.InnerException);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Read_ParquetNullUnderReject_NamesRowGroupColumnAndPolicy()
    {
        var p = Path.Combine(_dir.Path, "nulls.parquet");
        Write(p,
            [Strings("series_id", "A", "A"), Ints("timestamp", 1, 2), NullableFloats("x", 1, 2)],
            [Strings("series_id", "A", "A"), Ints("timestamp", 3, 4), NullableFloats("x", 3, null)]);

        var msg = Fails(p);

        ContainsAll(msg, "nulls.parquet", "row 4", "row group 1", "column 'x'", "null", "--missing interpolate|drop");
    }

    [Fact]
    public void Read_ParquetBadLabel_NamesRowGroupAndValue()
    {
        var p = Path.Combine(_dir.Path, "label.parquet");
        Write(p, [Strings("series_id", "A", "A"), Ints("timestamp", 1, 2), Floats("x", 1, 2), Ints("label", 0, 3)]);

        var msg = Fails(p);

        ContainsAll(msg, "label.parquet", "row 2", "row group 0", "column 'label'", "'3'", "0, 1 or empty");
    }

    [Fact]
    public void Read_ParquetHeaderOnly_SaysNoRows()
    {
        var p = Path.Combine(_dir.Path, "norows.parquet");
        Write(p, [Strings("series_id"), Ints("timestamp"), Floats("x")]);

        var msg = Fails(p);

        ContainsAll(msg, "norows.parquet", "has no rows");
    }

    [Fact]
    public void Read_DirectoryPartMissingChannel_NamesFileAndChannel()
    {
        Write(Path.Combine(_dir.Path, "out", "part-00000.parquet"), [Strings("series_id", "A"), Ints("timestamp", 1), Floats("x", 1), Floats("y", 1)]);
        Write(Path.Combine(_dir.Path, "out", "part-00001.parquet"), [Strings("series_id", "B"), Ints("timestamp", 1), Floats("x", 1)]);

        var msg = Fails(Path.Combine(_dir.Path, "out"));

        ContainsAll(msg, "part-00001.parquet", "'y'", "part-00000.parquet", "--channels");
    }

    [Theory]
    [InlineData("anomaly", null, "--label-column")]
    [InlineData(null, "fold", "--split-column")]
    public void Read_MissingRenamedLabelOrSplit_NamesOption(string? label, string? split, string option)
    {
        var p = _dir.File("ls.csv", "series_id,timestamp,x\nA,1,1\n");
        var options = new ReadOptions();
        options = label is null ? options : options with { LabelColumn = label };
        options = split is null ? options : options with { SplitColumn = split };

        var msg = Fails(p, options);

        ContainsAll(msg, "ls.csv", $"'{label ?? split}'", "found: series_id, timestamp, x", option);
    }

    [Fact]
    public void Read_AmbiguousCaseInsensitiveName_AsksForExactName()
    {
        var p = _dir.File("case.csv", "series_id,timestamp,Temp,TEMP\nA,1,1,2\n");

        var msg = Fails(p, new ReadOptions { Channels = ["temp"] });

        ContainsAll(msg, "case.csv", "'temp'", "'Temp'", "'TEMP'", "exact name");
    }

    [Fact]
    public void Read_Utf16File_SaysSaveAsUtf8()
    {
        var p = _dir.Bytes("utf16.csv", System.Text.Encoding.Unicode.GetPreamble().Concat(System.Text.Encoding.Unicode.GetBytes("series_id,timestamp,x\nA,1,1\n")).ToArray());

        var msg = Fails(p);

        ContainsAll(msg, "utf16.csv", "UTF-16", "UTF-8");
    }

    [Fact]
    public void Read_GzipOrZipNamedCsv_SaysDecompressFirst()
    {
        byte[] text = System.Text.Encoding.UTF8.GetBytes("series_id,timestamp,x\nA,1,1\nA,2,2\n");
        using var packed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(text);
        }
        ContainsAll(Fails(_dir.Bytes("packed.csv", packed.ToArray())), "packed.csv", "gzip", "Decompress");

        using var zipped = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(zipped, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = zip.CreateEntry("data.csv").Open();
            entry.Write(text);
        }
        ContainsAll(Fails(_dir.Bytes("zipped.csv", zipped.ToArray())), "zipped.csv", "zip archive");
    }

    [Fact]
    public void Read_CarriageReturnOnlyLineEnds_SaysConvert()
    {
        var p = _dir.File("mac.csv", "series_id,timestamp,x\rA,1,1\rA,2,2\r");

        ContainsAll(Fails(p), "mac.csv", "carriage return", "LF");
    }

    [Theory]
    [InlineData(new string[0], "empty")]
    [InlineData(new[] { "x", "x" }, "listed twice")]
    public void Read_BadChannelOption_SaysHowToFix(string[] channels, string what)
    {
        var p = _dir.File("opt.csv", "series_id,timestamp,x\nA,1,1\n");

        var msg = Fails(p, new ReadOptions { Channels = channels });

        ContainsAll(msg, what, "--channels");
    }

    [Fact]
    public void Read_PartsWithDifferentTimestampTypes_NamesFileAndColumn()
    {
        Write(Path.Combine(_dir.Path, "mixed", "part-00000.parquet"), [Strings("series_id", "A"), Ints("timestamp", 1), Floats("x", 1)]);
        Write(Path.Combine(_dir.Path, "mixed", "part-00001.parquet"), [Strings("series_id", "B"), Times("timestamp", DateTime.UnixEpoch), Floats("x", 1)]);

        var msg = Fails(Path.Combine(_dir.Path, "mixed"));

        ContainsAll(msg, "part-00001.parquet", "column 'timestamp'", "part-00000.parquet", "same timestamp type");
    }

    [Fact]
    public void Read_PartWithoutTimeColumn_NamesFile()
    {
        _dir.File("notime/part-00000.csv", "series_id,timestamp,x\nA,1,1\n");
        _dir.File("notime/part-00001.csv", "series_id,x\nB,1\n");

        var msg = Fails(Path.Combine(_dir.Path, "notime"));

        ContainsAll(msg, "part-00001.csv", "no time column 'timestamp'", "same columns");
    }

    [Fact]
    public void Read_EmptySeriesId_NamesRowAndColumn()
    {
        var msg = Fails(_dir.File("noid.csv", "series_id,timestamp,x\nA,1,1\n,2,1\n"));

        ContainsAll(msg, "noid.csv", "data row 2", "column 'series_id'", "series id is empty");
    }

    [Fact]
    public void Read_CorruptColumnChunk_NamesRowGroupAndColumn()
    {
        var full = Path.Combine(_dir.Path, "chunk.parquet");
        var ids = Enumerable.Repeat("A", 500).ToArray();
        Write(full, [Strings("series_id", ids), Ints("timestamp", Enumerable.Range(0, 500).ToArray()), Floats("x", new float[500])]);
        var bytes = File.ReadAllBytes(full);
        // The first column chunk (series_id of row group 0) starts right after the 4-byte magic; the footer stays intact.
        for (int i = 4; i < 24; i++)
        {
            bytes[i] = 0xFF;
        }
        var p = _dir.Bytes("chunk-bad.parquet", bytes);

        var ex = Assert.Throws<SparkAnomalyException>(() => DataReader.Read(p));

        ContainsAll(ex.Message, "chunk-bad.parquet", "row group 0, column 'series_id'", "not a readable Parquet file");
        Assert.NotNull(ex.InnerException);
    }
}
