using System.Globalization;
using System.Text;
using System.Text.Json;
using SparkAnomaly.Data;
using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Cli;

namespace SparkAnomaly.Tests.Skab;

/// <summary>
/// evaluate --labels with a raw labels file (SKAB's own CSVs: ';', a datetime column, an anomaly column, no series
/// column) mapped by the data options train and score use, the errors that say what to pass when nothing matches,
/// and the rows left out as split=train.
/// </summary>
public sealed class EvaluateLabelColumnsTests
{
    private static readonly DateTime Start = new(2020, 3, 9, 10, 14, 33, DateTimeKind.Utc);

    /// <summary>SKAB's layout: ';'-separated, datetime, channels (one with spaces), anomaly and changepoint as 0.0/1.0; anomalous from row 50.</summary>
    private static string SkabRaw(string path, int rows = 80, int firstAnomaly = 50)
    {
        var sb = new StringBuilder("datetime;Accelerometer1RMS;Current;Volume Flow RateRMS;anomaly;changepoint\n");
        for (int i = 0; i < rows; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{Start.AddSeconds(i):yyyy-MM-dd HH:mm:ss};{Math.Sin(i * 0.3):F4};{Math.Cos(i * 0.2):F4};{120 + Math.Sin(i * 0.05):F3};{(i >= firstAnomaly ? "1.0" : "0.0")};0.0\n");
        }
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>A scores file of one series '<paramref name="id"/>' with date-time timestamps Start + i s, no labels.</summary>
    private static string DateTimeScores(string path, string id, int rows = 80)
    {
        var ts = Enumerable.Range(0, rows).Select(i => TextValues.ToUnixMicros(Start.AddSeconds(i))).ToArray();
        var s = new Series(id, ts, new float[rows * 2], 2);
        var score = Enumerable.Range(0, rows).Select(i => i >= 55 ? 0.9 : 0.1).ToArray();
        var scored = new ScoredSeries(s, score, score.SelectMany(v => new[] { v / 2, v / 2 }).ToArray(), score.Select(v => v > ScoresFixture.Threshold).ToArray());
        ScoresFile.Save(path, ScoresFixture.Model(), new[] { scored }, new[] { "a", "b" }, TimestampKind.DateTime);
        return path;
    }

    private static void AssertOneLineError(int code, string stdout, string stderr)
    {
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("error: ", stderr);
        Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
    }

    [Fact]
    public void RawSkabFile_MappedWithDataOptions_EvaluatesEveryRowOfTheOneSeries()
    {
        using var dir = new TempDir();
        string scores = DateTimeScores(dir.File("scores.parquet"), "valve1-3");
        string labels = SkabRaw(dir.File("3.csv"));

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", scores, "--labels", labels,
            "--time-column", "datetime", "--label-column", "anomaly", "--delimiter", ";", "--json");

        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        var pw = root.GetProperty("pointWise");
        Assert.Equal(30, pw.GetProperty("tp").GetInt64() + pw.GetProperty("fn").GetInt64());   // rows 50..79
        Assert.Equal(25, pw.GetProperty("tp").GetInt64());                                      // flagged from 55
        Assert.Equal(0, pw.GetProperty("fp").GetInt64());
        Assert.Equal(80, root.GetProperty("rows").GetProperty("evaluated").GetInt64());
        Assert.Equal(80, root.GetProperty("labels").GetProperty("matchedRows").GetInt64());
        Assert.Contains("labels: 80 of the 80 labelled rows of", stderr);
    }

    [Fact]
    public void RawSkabFile_DelimiterDetected_WithoutDelimiterOption()
    {
        using var dir = new TempDir();
        string scores = DateTimeScores(dir.File("scores.parquet"), "valve1-3");

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", scores, "--labels", SkabRaw(dir.File("3.csv")),
            "--time-column", "datetime", "--label-column", "anomaly", "--json");

        Assert.True(code == 0, stderr);
        Assert.Equal(80, JsonDocument.Parse(stdout).RootElement.GetProperty("rows").GetProperty("evaluated").GetInt64());
    }

    [Fact]
    public void EndToEnd_TrainScoreOnRawSkabFile_EvaluateWithTheSameFileAsLabels()
    {
        using var dir = new TempDir();
        string raw = SkabRaw(dir.File("1.csv"), rows: 120, firstAnomaly: 90);
        var data = new[] { "--data", raw, "--time-column", "datetime", "--delimiter", ";" };

        var train = CliTests.Run(["train", .. data, "--out", dir.File("run"), "--label-column", "anomaly", "--exclude-channels", "changepoint",
            "--rounds", "1", "--window", "8", "--batch-size", "8", "--quiet"]);
        Assert.True(train.Code == 0, train.Err);
        var score = CliTests.Run(["score", "--model", Path.Combine(dir.File("run"), "model.parquet"), .. data, "--out", dir.File("scored"), "--quiet"]);
        Assert.True(score.Code == 0, score.Err);

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", Path.Combine(dir.File("scored"), "scores.parquet"), "--labels", raw,
            "--time-column", "datetime", "--label-column", "anomaly", "--delimiter", ";", "--json");

        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        var pw = root.GetProperty("pointWise");
        Assert.Equal(30, pw.GetProperty("tp").GetInt64() + pw.GetProperty("fn").GetInt64());
        Assert.Equal(120, root.GetProperty("rows").GetProperty("evaluated").GetInt64());
    }

    [Fact]
    public void DefaultColumns_StillJoinOnSeriesIdTimestampLabel()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));
        File.WriteAllLines(dir.File("labels.csv"), new[] { "series_id,timestamp,label" }.Concat(Enumerable.Range(0, 120).Select(i => $"s2,{1000 + i},{(i >= 100 && i < 110 ? 1 : 0)}")));

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("labels.csv"), "--json");

        Assert.True(code == 0, stderr);
        Assert.Equal(1, JsonDocument.Parse(stdout).RootElement.GetProperty("series").GetInt32());
    }

    [Fact]
    public void OneSeriesLabels_NamedAfterTheirFile_JoinTheScoresSeriesOfThatName()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"), new[] { "s0", "s1", "valve" });
        File.WriteAllLines(dir.File("valve.csv"), new[] { "timestamp,label" }.Concat(Enumerable.Range(0, 120).Select(i => $"{1000 + i},{(i >= 100 ? 1 : 0)}")));

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("valve.csv"), "--json");

        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(1, root.GetProperty("series").GetInt32());
        Assert.Equal(120, root.GetProperty("labels").GetProperty("matchedRows").GetInt64());
    }

    [Fact]
    public void OneSeriesLabels_AgainstManySeries_NamesThemAndAsksForSeriesColumn()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));
        File.WriteAllText(dir.File("faults.csv"), "run,timestamp,label\ns0,1100,1\n");

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("faults.csv"));

        AssertOneLineError(code, stdout, stderr);
        Assert.Contains("has no series column ('series_id'), so it is one series", stderr);
        Assert.Contains("'s0', 's1', 's2'", stderr);
        Assert.Contains("none is named 'faults'", stderr);
        Assert.Contains("Pass --series-column", stderr);
        Assert.Contains("found: run, timestamp, label", stderr);

        var ok = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("faults.csv"), "--series-column", "run", "--json");
        Assert.True(ok.Code == 0, ok.Err);
    }

    [Fact]
    public void SeriesIdsMatchNothing_NamesAnExampleFromEachSide()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));
        File.WriteAllText(dir.File("labels.csv"), "series_id,machine,timestamp,label\nrun-7,s0,1100,1\nrun-7,s0,1101,0\n");

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("labels.csv"));

        AssertOneLineError(code, stdout, stderr);
        Assert.Contains("no series id is in both", stderr);
        Assert.Contains("'run-7' at 1100", stderr);
        Assert.Contains("'s0' at 1000", stderr);
        Assert.Contains("Pass --series-column", stderr);

        var ok = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("labels.csv"), "--series-column", "machine", "--json");
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Contains("labels: 2 of the 2 labelled rows", ok.Err);
    }

    [Fact]
    public void LabelsPartlyOutsideTheScores_SaysHowManyMatchNone()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));
        File.WriteAllText(dir.File("labels.csv"), "series_id,timestamp,label\ns2,1100,1\ns2,1101,0\ns2,5000,1\nother,1100,1\n");

        var (code, _, stderr) = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("labels.csv"), "--json");

        Assert.True(code == 0, stderr);
        Assert.Contains("labels: 2 of the 4 labelled rows", stderr);
        Assert.Contains("2 match none", stderr);
    }

    [Fact]
    public void TimestampsMatchNothing_NamesBothRangesAndAsksForTimeColumn()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));
        File.WriteAllLines(dir.File("labels.csv"), new[] { "series_id,timestamp,step,label" }.Concat(Enumerable.Range(0, 120).Select(i => $"s2,{i},{1000 + i},{(i >= 100 ? 1 : 0)}")));

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("labels.csv"));

        AssertOneLineError(code, stdout, stderr);
        Assert.Contains("in series 's2' no timestamp is in both", stderr);
        Assert.Contains("labels run from 0 to 119", stderr);
        Assert.Contains("scores from 1000 to 1119", stderr);
        Assert.Contains("Pass --time-column", stderr);
        Assert.Contains("found: series_id, timestamp, step, label", stderr);

        var ok = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("labels.csv"), "--time-column", "step", "--json");
        Assert.True(ok.Code == 0, ok.Err);
    }

    [Fact]
    public void IntegerLabelsAgainstDateTimeScores_IsAClearError_NotZeroMatches()
    {
        using var dir = new TempDir();
        string scores = DateTimeScores(dir.File("scores.parquet"), "valve1-3");
        // The raw file without --time-column: no 'timestamp' column, so its rows are numbered, and cannot meet date-times.
        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", scores, "--labels", SkabRaw(dir.File("3.csv")), "--label-column", "anomaly");

        AssertOneLineError(code, stdout, stderr);
        Assert.Contains("has no time column 'timestamp', so its rows are numbered 0, 1, 2", stderr);
        Assert.Contains("have date-times (e.g. 'valve1-3' at 2020-03-09T10:14:33Z)", stderr);
        Assert.Contains("Pass --time-column", stderr);
        Assert.Contains("datetime", stderr);
    }

    [Fact]
    public void DateTimeLabelsAgainstIntegerScores_IsAClearError_NotZeroMatches()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));
        File.WriteAllText(dir.File("labels.csv"), "series_id,timestamp,label\ns0,2020-03-09T10:14:33Z,1\n");

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("labels.csv"));

        AssertOneLineError(code, stdout, stderr);
        Assert.Contains("has date-times in column 'timestamp' (e.g. 's0' at 2020-03-09T10:14:33Z)", stderr);
        Assert.Contains("integer timestamps (e.g. 's0' at 1000)", stderr);
        Assert.Contains("--time-column", stderr);
    }

    [Fact]
    public void MixedTimestampKindsInOneLabelsFile_RefusedNamingBothLines()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("labels.csv"), "series_id,timestamp,label\na,5,0\na,2020-03-09T10:14:33Z,1\n");

        var e = Assert.Throws<SparkAnomalyException>(() => SparkAnomaly.Evaluation.LabelsFile.Read(dir.File("labels.csv")));

        Assert.Contains("line 3", e.Message);
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void NamedColumnMissing_SaysWhichOptionAndListsTheColumns()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));
        File.WriteAllText(dir.File("labels.csv"), "series_id,timestamp,label\ns0,1000,1\n");

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--labels", dir.File("labels.csv"), "--label-column", "anomaly");

        AssertOneLineError(code, stdout, stderr);
        Assert.Contains("has no 'anomaly' column (found: series_id, timestamp, label). Pass --label-column", stderr);
    }

    [Fact]
    public void LabelColumnOptions_WithoutLabels_AreRefused()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", file, "--time-column", "datetime");

        AssertOneLineError(code, stdout, stderr);
        Assert.Contains("--time-column names a column of the --labels file; pass --labels FILE too", stderr);
    }

    [Fact]
    public async Task ParquetLabels_OtherColumnNames_NoSeriesColumn_DoubleLabels()
    {
        using var dir = new TempDir();
        string scores = DateTimeScores(dir.File("scores.parquet"), "only");
        string path = dir.File("labels.parquet");
        var ts = new Parquet.Schema.DataField<DateTime>("datetime");
        var label = new Parquet.Schema.DataField<double?>("anomaly");
        await using (var fs = File.Create(path))
        {
            await using var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(ts, label), fs);
            using var rg = writer.CreateRowGroup();
            await rg.WriteAsync<DateTime>(ts, Enumerable.Range(0, 80).Select(i => Start.AddSeconds(i)).ToArray());
            await rg.WriteAsync<double>(label, Enumerable.Range(0, 80).Select(i => (double?)(i >= 50 ? 1.0 : 0.0)).ToArray());
        }

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", scores, "--labels", path, "--time-column", "datetime", "--label-column", "anomaly", "--json");

        Assert.True(code == 0, stderr);
        var pw = JsonDocument.Parse(stdout).RootElement.GetProperty("pointWise");
        Assert.Equal(30, pw.GetProperty("tp").GetInt64() + pw.GetProperty("fn").GetInt64());
    }

    [Fact]
    public void RowsLeftOutAsSplitTrain_AreCountedInTableAndJson()
    {
        using var dir = new TempDir();
        string file = ScoresFixture.Write(dir.File("scores.parquet"));

        var table = CliTests.Run("evaluate", "--scores", file);
        var json = CliTests.Run("evaluate", "--scores", file, "--json");

        // 3 series × 120 rows; the first 40 of each are split=train; s2 has no labels (its 80 test rows are unlabelled).
        Assert.True(table.Code == 0, table.Err);
        Assert.Contains("rows evaluated          160 of 360", table.Out);
        Assert.Contains("left out              120 split=train (the threshold was fitted on them), 80 unlabelled", table.Out);
        var rows = JsonDocument.Parse(json.Out).RootElement.GetProperty("rows");
        Assert.Equal(360, rows.GetProperty("total").GetInt64());
        Assert.Equal(160, rows.GetProperty("evaluated").GetInt64());
        Assert.Equal(120, rows.GetProperty("splitTrain").GetInt64());
        Assert.Equal(80, rows.GetProperty("unlabelled").GetInt64());
    }

    [Fact]
    public void EvaluateHelp_OffersTheDataOptionsForTheLabelsFile()
    {
        string help = CliTests.Run("evaluate", "--help").Out;

        foreach (var option in new[] { "--series-column", "--time-column", "--label-column", "--delimiter" })
        {
            Assert.Contains(option, help);
        }
        Assert.DoesNotContain("--channels", help);
    }
}
