using System.Text.Json;
using SparkAnomaly.Evaluation;
using SparkAnomaly.Tests.Cli;
using SparkAnomaly.Tests.Evaluation;

namespace SparkAnomaly.Tests.Skab;

/// <summary>`sparkanomaly benchmark skab`: the command runs and its outputs are well-formed (no assertion on F1).</summary>
public sealed class BenchmarkCommandTests
{
    private static string SkabDirectory => Path.Combine(TestData.SharedDataDirectory, "skab");

    [Fact]
    public void BenchmarkSkab_Quick_JsonIsWellFormedAndOutputsExist()
    {
        using var dir = new TempDir();
        string outDir = dir.File("skab");

        var (code, stdout, stderr) = CliTests.Run("benchmark", "skab", "--data", SkabDirectory, "--quick", "--max-files", "1", "--json", "--quiet", "--out", outDir);

        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("SKAB", root.GetProperty("benchmark").GetString());
        Assert.Equal(1, root.GetProperty("files").GetInt32());
        foreach (var metric in new[] { "f1", "far", "mar" })
        {
            double v = root.GetProperty(metric).GetDouble();
            Assert.True(double.IsFinite(v) && v >= 0, $"{metric} = {v}");
        }
        var pw = root.GetProperty("evaluation").GetProperty("pointWise");
        Assert.Equal(root.GetProperty("f1").GetDouble(), pw.GetProperty("f1").GetDouble());
        // Test rows only: the first file's test part.
        long total = pw.GetProperty("tp").GetInt64() + pw.GetProperty("fp").GetInt64() + pw.GetProperty("fn").GetInt64() + pw.GetProperty("tn").GetInt64();
        Assert.True(total > 0);
        var board = root.GetProperty("leaderboard").EnumerateArray().ToList();
        Assert.Contains(board, b => b.GetProperty("algorithm").GetString() == "Conv-AE" && b.GetProperty("f1").GetDouble() == 0.78);
        var ours = Assert.Single(board, b => b.GetProperty("ours").GetBoolean());
        Assert.Contains("--quick smoke run, 1 files: not comparable", ours.GetProperty("algorithm").GetString());
        Assert.Equal(1, root.GetProperty("perFile").GetArrayLength());
        foreach (var f in new[] { "report.html", "results.json", "files.csv" })
        {
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        }
        JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json"))).Dispose();
    }

    [Fact]
    public void BenchmarkSkab_ResultsFileCannotBeWritten_ExitOneNamingIt_NoTempLeft()
    {
        using var dir = new TempDir();
        string outDir = dir.File("skab");
        // A directory where results.json goes fails the write even for root (the tests run as root).
        Directory.CreateDirectory(Path.Combine(outDir, "results.json"));

        var (code, _, stderr) = CliTests.Run("benchmark", "skab", "--data", SkabDirectory, "--quick", "--max-files", "1", "--quiet", "--out", outDir, "--overwrite");

        Assert.True(code == 1, stderr);
        Assert.StartsWith($"error: cannot write '{Path.Combine(outDir, "results.json")}'", stderr);
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp"));
    }

    [Fact]
    public void BenchmarkSkab_MissingData_ExitsOneWithOneLine()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = CliTests.Run("benchmark", "skab", "--data", dir.File("nothing-here"));

        Assert.Equal(1, code);
        Assert.Contains("tidy.csv", stderr);
        Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
    }

    [Fact]
    public void BenchmarkSkab_TrainingPartsOnly_ReportsTheWithinTrainFalseAlarmProxy()
    {
        var (code, stdout, stderr) = CliTests.Run("benchmark", "skab", "--data", SkabDirectory, "--quick", "--max-files", "1", "--training-parts-only", "--json", "--quiet",
            "--detrend", "ma:20", "--channel-weighting", "held-out-error");

        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        double late = root.GetProperty("lateExceedance").GetDouble();
        Assert.InRange(late, 0, 1);
        // The pseudo-test proxy: fractions of rows 350–399 flagged, clean and with injected level shifts.
        double falseAlarms = root.GetProperty("pseudoTestFalseAlarm").GetDouble();
        double detected = root.GetProperty("pseudoTestDetection").GetDouble();
        Assert.InRange(falseAlarms, 0, 1);
        Assert.InRange(detected, 0, 1);
        // Detection over the rows not flagged without the shift: a fraction, equal to the plain one when no row is.
        var fresh = root.GetProperty("pseudoTestNewDetection");
        if (fresh.ValueKind == JsonValueKind.Number)
        {
            Assert.InRange(fresh.GetDouble(), 0, 1);
            if (falseAlarms == 0)
            {
                Assert.Equal(detected, fresh.GetDouble(), 12);
            }
        }
        // A file counts as drifting when at least half of its pseudo-test rows are flagged with nothing injected.
        var drifting = root.GetProperty("pseudoTestDriftingFiles").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(falseAlarms >= 0.5, drifting.Count == 1);
    }

    [Fact]
    public void DriftingFiles_AreThoseWithAtLeastHalfThePseudoTestRowsFlagged()
    {
        static SkabFileResult File(string id, double falseAlarm) => new(id, ConfusionCounts.Zero, 1, 0, 0, 0) { PseudoTestFalseAlarm = falseAlarm };

        var drifting = SkabBenchmark.DriftingFiles(new[] { File("a", 0.82), File("b", 0.10), File("c", 0.5), File("d", double.NaN) });

        Assert.Equal(new[] { "a", "c" }, drifting);
    }

    [Fact]
    public void BenchmarkSkab_FinalFit_ChangesTheScoringModelButNotTheThreshold()
    {
        var fitRows = QuickOneFile("--final-fit", "fit-rows");
        var allRows = QuickOneFile("--final-fit", "all-training-rows");

        var a = fitRows.GetProperty("perFile")[0];
        var b = allRows.GetProperty("perFile")[0];
        // The threshold comes from out-of-sample scores of the same earlier models either way ...
        Assert.Equal(a.GetProperty("threshold").GetDouble(), b.GetProperty("threshold").GetDouble());
        // ... while the test part is scored by a model refitted on all 400 rows, so its ranking differs.
        Assert.NotEqual(a.GetProperty("rocAuc").GetDouble(), b.GetProperty("rocAuc").GetDouble());
        Assert.Equal("all-training-rows", allRows.GetProperty("settings").GetProperty("finalFit").GetString());
    }

    [Fact]
    public void BenchmarkSkab_CrossFitFolds_RunsAndPoolsTheFoldScores()
    {
        // Quick settings (window 16): 3 folds of 100 rows leave 100 rows for the first fold's fit.
        var (code, stdout, stderr) = CliTests.Run("benchmark", "skab", "--data", SkabDirectory, "--quick", "--max-files", "1", "--training-parts-only", "--json", "--quiet",
            "--cross-fit-folds", "3");

        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.InRange(root.GetProperty("lateExceedance").GetDouble(), 0, 1);
    }

    [Theory]
    [InlineData("4", "100")]
    [InlineData("0", "100")]
    [InlineData("2", "0")]
    public void BenchmarkSkab_BadCrossFitFolds_ExitsOneWithOneLine(string folds, string validationRows)
    {
        var (code, _, stderr) = CliTests.Run("benchmark", "skab", "--data", SkabDirectory, "--quick", "--max-files", "1", "--cross-fit-folds", folds, "--validation-rows", validationRows);

        Assert.Equal(1, code);
        Assert.Contains("cross-fit", stderr);
        Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
    }

    [Fact]
    public void BenchmarkSkab_ScoreRuleReconstructionProbabilityLastStep_Accepted()
    {
        var run = QuickOneFile("--score-rule", "reconstruction-probability-last-step");

        Assert.Equal("ReconstructionProbabilityLastStep", run.GetProperty("settings").GetProperty("scoreRule").GetString());
    }

    [Fact]
    public void BenchmarkSkab_Ensemble_AveragesSeveralModelsPerFit()
    {
        var one = QuickOneFile("--ensemble", "1");
        var two = QuickOneFile("--ensemble", "2");

        Assert.Equal(2, two.GetProperty("settings").GetProperty("ensemble").GetInt32());
        // A second model (seed + 1) changes the out-of-sample scores, so the threshold they give.
        Assert.NotEqual(one.GetProperty("perFile")[0].GetProperty("threshold").GetDouble(), two.GetProperty("perFile")[0].GetProperty("threshold").GetDouble());
    }

    [Theory]
    [InlineData("--ensemble", "0")]
    [InlineData("--detrend", "ma:0")]
    [InlineData("--detrend-channels", "NoSuchChannel")]
    public void BenchmarkSkab_BadDetrend_ExitsOneWithOneLine(string option, string value)
    {
        var (code, _, stderr) = CliTests.Run("benchmark", "skab", "--data", SkabDirectory, "--quick", "--max-files", "1", option, value);

        Assert.Equal(1, code);
        Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
    }

    [Theory]
    [InlineData(SkabChannelWeighting.FitError, SparkAnomaly.Scoring.ScoreRule.ReconstructionProbability)]
    [InlineData(SkabChannelWeighting.HeldOutError, SparkAnomaly.Scoring.ScoreRule.ReconstructionProbability)]
    [InlineData(SkabChannelWeighting.FitError, SparkAnomaly.Scoring.ScoreRule.ReconstructionProbabilityLastStep)]
    public void SkabOptions_ChannelWeightingWithReconstructionProbability_RefusedNamingTheFix(SkabChannelWeighting weighting, SparkAnomaly.Scoring.ScoreRule rule)
    {
        var o = new SkabOptions { DataDirectory = "", ScoreRule = rule, ChannelWeighting = weighting };

        var e = Assert.Throws<SparkAnomalyException>(o.Validate);

        Assert.Contains("--channel-weighting none", e.Message);
        (o with { ChannelWeighting = SkabChannelWeighting.None }).Validate();
        (o with { ScoreRule = SparkAnomaly.Scoring.ScoreRule.LastStep }).Validate();
    }

    [Fact]
    public void SkabOptions_Defaults_AreTheDriftRobustSettingsOfDocs()
    {
        var o = new SkabOptions { DataDirectory = "" };

        Assert.Equal(("diff", "meanstd:1.645", SparkAnomaly.Scoring.ScoreRule.LastStep, SkabChannelWeighting.None), (o.Detrend, o.Threshold, o.ScoreRule, o.ChannelWeighting));
        Assert.Equal(new[] { "Temperature", "Thermocouple" }, o.DetrendChannels);
        Assert.Equal(3, o.CrossFitFolds);
        Assert.Equal(16, o.WindowLength);
        Assert.Equal(SkabFinalFit.AllTrainingRows, o.FinalFit);
        Assert.Equal(SparkAnomaly.Scoring.AlarmFilter.None, o.Filter);
    }

    /// <summary>The JSON of a quick one-file run with <paramref name="option"/> set; asserts it succeeded.</summary>
    private static JsonElement QuickOneFile(string option, string value)
    {
        var (code, stdout, stderr) = CliTests.Run("benchmark", "skab", "--data", SkabDirectory, "--quick", "--max-files", "1", "--json", "--quiet", option, value);
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    [Fact]
    public void ReadLeaderboard_SourceMd_HasThePublishedRows()
    {
        var rows = SkabBenchmark.ReadLeaderboard(Path.Combine(SkabDirectory, "SOURCE.md"));

        Assert.Equal(11, rows.Count);
        var conv = Assert.Single(rows, r => r.Name == "Conv-AE");
        Assert.Equal((0.78, 13.55, 28.02), (conv.F1, conv.Far, conv.Mar));
        Assert.Contains(rows, r => r.Name == "LSTM-VAE" && r.F1 == 0.56);
    }
}
