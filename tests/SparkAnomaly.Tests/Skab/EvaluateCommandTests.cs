using System.Text.Json;
using SparkAnomaly.Data;
using SparkAnomaly.Evaluation;
using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Cli;

namespace SparkAnomaly.Tests.Skab;

/// <summary>`sparkanomaly evaluate` and the library pieces under it (ScoresReader, ScoresEvaluation).</summary>
public sealed class EvaluateCommandTests
{
    /// <summary>The report computed directly from the fixture's arrays: test rows with labels only.</summary>
    private static EvaluationReport Expected()
    {
        var (_, scored) = ScoresFixture.Build();
        var series = scored.Where(s => s.Series.Labels is not null).Select(s => new EvaluationSeries(
            s.Score, s.IsAnomaly, s.Series.Labels!.Select(l => l == 1).ToArray(),
            s.Series.Splits!.Select(sp => sp == RowSplit.Test).ToArray())).ToList();
        return Metrics.Evaluate(series);
    }

    [Fact]
    public void DrivingChannels_RanksWhatStoodOut_NotWhatIsAlwaysHigh()
    {
        const int rows = 100, channels = 3;
        var contributions = new double[rows * channels];
        for (int r = 0; r < rows; r++)
        {
            contributions[r * channels + 0] = 5.0;                                   // always high (a per-channel constant)
            contributions[r * channels + 1] = 1.0 + (r is >= 40 and < 50 ? 3.0 : 0); // the excursion
            contributions[r * channels + 2] = -1.0 + 0.01 * (r % 3);                 // small noise around a negative level
        }
        var series = new ScoresSeries("s", new long[rows], new double[rows], new double[rows], new bool[rows], new sbyte[rows], new RowSplit[rows], contributions);

        var driving = ScoresEvaluation.DrivingChannels(series, channels, 2);

        Assert.Equal(new[] { 1, 2 }, driving);
        Assert.Empty(ScoresEvaluation.DrivingChannels(series with { Contributions = Array.Empty<double>() }, channels, 2));
    }

    [Fact]
    public void ScoresReader_RoundTrip_ReturnsWrittenArrays()
    {
        using var dir = new TempDir();
        var (_, scored) = ScoresFixture.Build();

        var data = ScoresReader.Read(ScoresFixture.Write(dir.File("scores.parquet")));

        Assert.Equal(new[] { "s0", "s1", "s2" }, data.Series.Select(s => s.Id));
        Assert.Equal(new[] { "a", "b" }, data.Channels);
        Assert.Equal("percentile:99", data.ThresholdMethod);
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(scored[k].Score, data.Series[k].Score);
            Assert.Equal(scored[k].IsAnomaly, data.Series[k].IsAnomaly);
            Assert.Equal(scored[k].Contributions, data.Series[k].Contributions);
            Assert.Equal(scored[k].Series.Timestamps, data.Series[k].Timestamps);
            Assert.All(data.Series[k].Threshold, t => Assert.Equal(ScoresFixture.Threshold, t));
        }
        Assert.All(data.Series[2].Labels, l => Assert.Equal(Series.NoLabel, l));
        Assert.Equal(RowSplit.Train, data.Series[0].Splits[0]);
        Assert.Equal(RowSplit.Test, data.Series[0].Splits[^1]);
    }

    [Fact]
    public void Evaluate_Json_EqualsMetricsOnTheSameArrays()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));
        var expected = Expected();

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--json");

        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        var pw = root.GetProperty("pointWise");
        Assert.Equal(expected.PointWise.TP, pw.GetProperty("tp").GetInt64());
        Assert.Equal(expected.PointWise.FP, pw.GetProperty("fp").GetInt64());
        Assert.Equal(expected.PointWise.FN, pw.GetProperty("fn").GetInt64());
        Assert.Equal(expected.PointWise.TN, pw.GetProperty("tn").GetInt64());
        Assert.Equal(expected.F1, pw.GetProperty("f1").GetDouble());
        Assert.Equal(expected.Far, pw.GetProperty("far").GetDouble());
        Assert.Equal(expected.Mar, pw.GetProperty("mar").GetDouble());
        Assert.Equal(expected.PointAdjustedF1, root.GetProperty("pointAdjusted").GetProperty("f1").GetDouble());
        Assert.Equal(expected.EventF1, root.GetProperty("eventWise").GetProperty("f1").GetDouble());
        Assert.Equal(expected.RocAuc!.Value, root.GetProperty("rocAuc").GetDouble());
        Assert.Equal(expected.PrAuc!.Value, root.GetProperty("prAuc").GetDouble());
        Assert.Equal(expected.TimesToDetect.Length, root.GetProperty("timeToDetect").GetProperty("perEvent").GetArrayLength());
        Assert.Equal(2, root.GetProperty("series").GetInt32());
        // Training rows are left out: 2 labelled series × 80 test rows.
        Assert.Equal(160, expected.PointWise.Total);
    }

    [Fact]
    public void Evaluate_WithAlarmFilter_EqualsMetricsOnFilteredAlarms()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));
        var filter = new AlarmFilter(MinDuration: 3, MergeGap: 2, Persistence: 2);
        var (_, scored) = ScoresFixture.Build();
        var expected = Metrics.Evaluate(scored.Where(s => s.Series.Labels is not null).Select(s => new EvaluationSeries(
            s.Score, filter.Apply(s.IsAnomaly), s.Series.Labels!.Select(l => l == 1).ToArray(),
            s.Series.Splits!.Select(sp => sp == RowSplit.Test).ToArray())).ToList());

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--min-duration", "3", "--merge-gap", "2", "--persistence", "2", "--json");

        Assert.True(code == 0, stderr);
        var pw = JsonDocument.Parse(stdout).RootElement.GetProperty("pointWise");
        Assert.Equal(expected.PointWise.TP, pw.GetProperty("tp").GetInt64());
        Assert.Equal(expected.PointWise.FP, pw.GetProperty("fp").GetInt64());
        Assert.Equal(expected.F1, pw.GetProperty("f1").GetDouble());
        Assert.NotEqual(Expected().PointWise.FP, expected.PointWise.FP);   // the filter changed something
    }

    [Fact]
    public void Evaluate_Table_LabelsPointAdjustedAsSuch()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", ScoresFixture.Write(dir.File("scores.parquet")));

        Assert.True(code == 0, stderr);
        Assert.Contains("point-wise (primary", stdout);
        Assert.Contains("point-ADJUSTED F1", stdout);
        Assert.Contains($"{Expected().F1:F4}", stdout);
    }

    [Fact]
    public void Evaluate_WithLabelsFile_JoinsOnSeriesAndTimestamp()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));
        // Labels for the unlabelled series s2 only: rows 100..109 anomalous.
        var lines = new List<string> { "series_id,timestamp,label" };
        lines.AddRange(Enumerable.Range(0, 120).Select(i => $"s2,{1000 + i},{(i >= 100 && i < 110 ? 1 : 0)}"));
        File.WriteAllLines(dir.File("labels.csv"), lines);

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("labels.csv"), "--json");

        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(1, root.GetProperty("series").GetInt32());
        var pw = root.GetProperty("pointWise");
        Assert.Equal(10, pw.GetProperty("tp").GetInt64() + pw.GetProperty("fn").GetInt64());
        Assert.Equal(80, pw.GetProperty("tp").GetInt64() + pw.GetProperty("fn").GetInt64() + pw.GetProperty("fp").GetInt64() + pw.GetProperty("tn").GetInt64());
    }

    [Theory]
    [InlineData("notparquet", "not a readable scores Parquet file")]
    [InlineData("missing", "does not exist")]
    [InlineData("nolabels", "no labelled row")]
    public void Evaluate_BadScoresFile_ExitsOneWithOneLine(string kind, string expected)
    {
        using var dir = new TempDir();
        string file = dir.File("scores.parquet");
        if (kind == "notparquet")
        {
            File.WriteAllText(file, "series_id,timestamp,score\ns,1,0.5\n");
        }
        else if (kind == "nolabels")
        {
            var (set, scored) = ScoresFixture.Build();
            ScoresFile.Save(file, ScoresFixture.Model(), scored.Skip(2).ToList(), set.ChannelNames, set.TimestampKind);
        }

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Contains(expected, stderr);
        Assert.StartsWith("error: ", stderr);
        Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
    }

    [Fact]
    public void Evaluate_WithReport_WritesSelfContainedHtml()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));

        var (code, _, stderr) = CliTests.Run("evaluate", "--scores", file, "--report", dir.File("report.html"), "--quiet");

        Assert.True(code == 0, stderr);
        string html = File.ReadAllText(dir.File("report.html"));
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(html, "<figure class=\"series\"").Count);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
    }
}

/// <summary>Labels files in Parquet, as Spark or pandas would write them.</summary>
public sealed class LabelsFileTests
{
    [Fact]
    public async Task Read_Parquet_MapsSeriesAndTimestampToLabel()
    {
        using var dir = new TempDir();
        string path = dir.File("labels.parquet");
        var id = new Parquet.Schema.DataField<string>("series_id");
        var ts = new Parquet.Schema.DataField<long>("timestamp");
        var label = new Parquet.Schema.DataField<int?>("label");
        await using (var fs = File.Create(path))
        {
            await using var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(id, ts, label), fs);
            using var rg = writer.CreateRowGroup();
            await rg.WriteAsync(id, new[] { "a", "a", "b" });
            await rg.WriteAsync<long>(ts, new long[] { 1, 2, 1 });
            await rg.WriteAsync<int>(label, new int?[] { 0, 1, null });
        }

        var map = SparkAnomaly.Evaluation.LabelsFile.Read(path);

        Assert.Equal(2, map.Count);   // the null label is no label
        Assert.Equal(0, map[("a", 1)]);
        Assert.Equal(1, map[("a", 2)]);
    }

    private static async Task WriteLabelsParquet(string path, string[] ids, long[] stamps, int?[] labels)
    {
        var id = new Parquet.Schema.DataField<string>("series_id");
        var ts = new Parquet.Schema.DataField<long>("timestamp");
        var label = new Parquet.Schema.DataField<int?>("label");
        await using var fs = File.Create(path);
        await using var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(id, ts, label), fs);
        using var rg = writer.CreateRowGroup();
        await rg.WriteAsync(id, ids);
        await rg.WriteAsync<long>(ts, stamps);
        await rg.WriteAsync<int>(label, labels);
    }

    [Fact]
    public void Read_CsvConflictingDuplicate_RefusedNamingLinesSeriesAndTimestamp()
    {
        using var dir = new TempDir();
        string path = dir.File("labels.csv");
        File.WriteAllText(path, "series_id,timestamp,label\na,1,0\na,2,1\nb,2,0\na,2,0\n");

        var e = Assert.Throws<SparkAnomalyException>(() => SparkAnomaly.Evaluation.LabelsFile.Read(path));

        Assert.Contains($"'{path}' line 5", e.Message);
        Assert.Contains("line 3", e.Message);
        Assert.Contains("series 'a'", e.Message);
        Assert.Contains("timestamp 2", e.Message);
    }

    [Fact]
    public void Read_CsvIdenticalDuplicate_Accepted()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("labels.csv"), "series_id,timestamp,label\na,1,0\na,2,1\na,2,1\n");

        var map = SparkAnomaly.Evaluation.LabelsFile.Read(dir.File("labels.csv"));

        Assert.Equal(2, map.Count);
        Assert.Equal(1, map[("a", 2)]);
    }

    [Fact]
    public async Task Read_ParquetConflictingDuplicate_RefusedNamingRows()
    {
        using var dir = new TempDir();
        string path = dir.File("labels.parquet");
        await WriteLabelsParquet(path, new[] { "a", "b", "a", "a" }, new long[] { 7, 7, 8, 7 }, new int?[] { 1, 1, 0, 0 });

        var e = Assert.Throws<SparkAnomalyException>(() => SparkAnomaly.Evaluation.LabelsFile.Read(path));

        Assert.Contains($"'{path}' row 4", e.Message);
        Assert.Contains("row 1", e.Message);
        Assert.Contains("series 'a'", e.Message);
        Assert.Contains("timestamp 7", e.Message);
    }

    [Fact]
    public void Read_CsvTwoHeadersDifferingInCaseOnly_RefusedNamingBoth()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("labels.csv"), "series_id,timestamp,Label,LABEL\na,1,0,1\n");

        var e = Assert.Throws<SparkAnomalyException>(() => SparkAnomaly.Evaluation.LabelsFile.Read(dir.File("labels.csv")));

        Assert.Contains("labels file", e.Message);
        Assert.Contains("'Label' and 'LABEL'", e.Message);
    }

    [Fact]
    public void Read_CsvHeaderInOtherCase_FindsColumnsLikeTheDataReader()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("labels.csv"), "Series_ID,TimeStamp,LABEL\na,1,0\na,2,1\n");

        var map = SparkAnomaly.Evaluation.LabelsFile.Read(dir.File("labels.csv"));

        Assert.Equal(1, map[("a", 2)]);
    }

    [Fact]
    public void Read_CsvWithBadLabel_NamesLineAndValue()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("labels.csv"), "series_id,timestamp,label\na,1,0\na,2,7\n");

        var e = Assert.Throws<SparkAnomalyException>(() => SparkAnomaly.Evaluation.LabelsFile.Read(dir.File("labels.csv")));

        Assert.Contains("line 3", e.Message);
        Assert.Contains("'7'", e.Message);
    }
}
