using System.Text.Json;

namespace SparkAnomaly.Tests.Ux;

/// <summary>--json prints one JSON document on stdout that parses back to what the command did.</summary>
[Collection(UxRunCollection.Name)]
public sealed class JsonOutputTests
{
    private readonly UxRunFixture _run;

    public JsonOutputTests(UxRunFixture run)
    {
        _run = run;
    }

    [Fact]
    public void Generate_Json_NamesFileSeriesRowsChannels()
    {
        var g = _run.GenerateJson;

        Assert.Equal(_run.DataCsv, g.GetProperty("file").GetString());
        Assert.Equal(3, g.GetProperty("series").GetInt32());
        Assert.Equal(900, g.GetProperty("rows").GetInt64());
        Assert.Equal(8, g.GetProperty("channels").GetArrayLength());
    }

    [Fact]
    public void Score_LabelledRowsAllTrainedOn_PrintsNoEvaluation()
    {
        // Only the healthy series, whose rows are all split=train: labelled, but nothing fair to evaluate.
        string trainOnly = _run.Scratch("train-only.csv");
        File.WriteAllLines(trainOnly, File.ReadLines(_run.DataCsv).Where((line, i) => i == 0 || line.EndsWith(",train", StringComparison.Ordinal)));

        var (code, stdout, stderr) = Cli.CliTests.Run("score", "--model", _run.ModelFile, "--data", trainOnly, "--out", _run.Scratch("scored-train-only"), "--json");

        Assert.True(code == 0, stderr);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(stdout).RootElement.GetProperty("evaluation").ValueKind);
        Assert.Contains("no evaluation: every labelled row is split=train", stderr);
    }

    [Fact]
    public void Score_LabelColumnEmpty_SaysNoRowHasALabel()
    {
        string unlabelled = _run.Scratch("unlabelled.csv");
        File.WriteAllLines(unlabelled, File.ReadLines(_run.DataCsv).Select((line, i) =>
        {
            if (i == 0)
            {
                return line;
            }
            var cells = line.Split(',');
            cells[^2] = "";   // label
            return string.Join(',', cells);
        }));

        var (code, stdout, stderr) = Cli.CliTests.Run("score", "--model", _run.ModelFile, "--data", unlabelled, "--out", _run.Scratch("scored-unlabelled"), "--json");

        Assert.True(code == 0, stderr);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(stdout).RootElement.GetProperty("evaluation").ValueKind);
        Assert.Contains("no evaluation: no scored row has a label", stderr);
    }

    [Fact]
    public void Train_Json_ParsesBackToTheRun()
    {
        var t = _run.TrainJson;

        Assert.Equal(3, t.GetProperty("rounds").GetInt32());
        Assert.Equal(2, t.GetProperty("workers").GetInt32());
        Assert.True(t.GetProperty("trainingWindows").GetInt64() > 0);
        Assert.True(double.IsFinite(t.GetProperty("finalLoss").GetDouble()));
        Assert.True(t.GetProperty("threshold").GetDouble() > 0);
        Assert.Equal("percentile:99.9", t.GetProperty("thresholdMethod").GetString());
        foreach (var key in new[] { "model", "stats", "chart" })
        {
            Assert.True(File.Exists(t.GetProperty(key).GetString()), key);
        }
        Assert.Equal(JsonValueKind.Null, t.GetProperty("scores").ValueKind);
    }

    [Fact]
    public void Score_Json_ParsesBackToTheScores()
    {
        var s = _run.ScoreJson;

        Assert.Equal(_run.ScoresFile, s.GetProperty("file").GetString());
        Assert.Equal(900, s.GetProperty("rows").GetInt64());
        Assert.InRange(s.GetProperty("flagged").GetInt64(), 0, 900);
        Assert.Equal(_run.TrainJson.GetProperty("threshold").GetDouble(), s.GetProperty("threshold").GetDouble());
        Assert.True(s.GetProperty("evaluation").GetProperty("pointWise").TryGetProperty("f1", out _));
    }

    [Fact]
    public void InspectModel_Json_DefaultModelWith8Channels_Has42536Parameters()
    {
        var (code, stdout, stderr) = Cli.CliTests.Run("inspect", _run.ModelFile, "--json");

        Assert.True(code == 0, stderr);
        var m = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("model", m.GetProperty("kind").GetString());
        Assert.True(m.GetProperty("metadataChecksumVerified").GetBoolean());
        Assert.Equal(42_536, m.GetProperty("parameters").GetProperty("count").GetInt64());
        var tensors = m.GetProperty("parameters").GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(14, tensors.Count);
        Assert.Equal(42_536, tensors.Sum(t => t.GetProperty("count").GetInt64()));
        Assert.Equal("enc.weight_ih_l0", tensors[0].GetProperty("name").GetString());
        Assert.Equal(new long[] { 256, 8 }, tensors[0].GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray());
        var model = m.GetProperty("model");
        Assert.Equal(8, model.GetProperty("channels").GetInt32());
        Assert.Equal(16, model.GetProperty("windowLength").GetInt32());
        var channels = m.GetProperty("normaliser").GetProperty("channels").EnumerateArray().ToList();
        Assert.Equal(8, channels.Count);
        Assert.All(channels, c => Assert.True(c.GetProperty("scale").GetDouble() > 0));
        var threshold = m.GetProperty("threshold");
        Assert.Equal(_run.TrainJson.GetProperty("threshold").GetDouble(), threshold.GetProperty("value").GetDouble());
        Assert.Equal("percentile:99.9", threshold.GetProperty("method").GetString());
        var p = m.GetProperty("provenance");
        Assert.Equal(42, p.GetProperty("seed").GetInt64());
        Assert.Equal(3, p.GetProperty("rounds").GetInt32());
        Assert.Equal(2, p.GetProperty("workers").GetInt32());
        Assert.Matches("^[0-9a-f]{16}$", p.GetProperty("dataFingerprint").GetString());
        Assert.False(string.IsNullOrEmpty(p.GetProperty("libraryVersion").GetString()));
        Assert.True(DateTime.TryParse(p.GetProperty("createdUtc").GetString(), out _));
        Assert.Equal(16, p.GetProperty("config").GetProperty("windowLength").GetInt32());
    }

    [Fact]
    public void InspectScores_Json_SummarisesEachSeries()
    {
        var (code, stdout, stderr) = Cli.CliTests.Run("inspect", _run.ScoresFile, "--json");

        Assert.True(code == 0, stderr);
        var s = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("scores", s.GetProperty("kind").GetString());
        Assert.Equal(900, s.GetProperty("rows").GetInt64());
        Assert.Equal(_run.ScoreJson.GetProperty("flagged").GetInt64(), s.GetProperty("flagged").GetInt64());
        Assert.True(s.GetProperty("hasLabels").GetBoolean());
        var series = s.GetProperty("series").EnumerateArray().ToList();
        Assert.Equal(3, series.Count);
        Assert.All(series, x => Assert.Equal(300, x.GetProperty("rows").GetInt64()));
        var faulty = series.Single(x => x.GetProperty("seriesId").GetString()!.Contains("faulty"));
        Assert.True(faulty.GetProperty("labelledAnomalies").GetInt64() > 0);
        Assert.NotEqual(JsonValueKind.Null, faulty.GetProperty("firstLabelledAnomaly").ValueKind);
    }

    [Fact]
    public void InspectShardPlan_Json_WindowsAddUp()
    {
        var (code, stdout, stderr) = Cli.CliTests.Run("inspect", "--data", _run.DataCsv, "--workers", "3", "--window", "16", "--json");

        Assert.True(code == 0, stderr);
        var p = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("shardPlan", p.GetProperty("kind").GetString());
        Assert.Equal(3, p.GetProperty("workers").GetInt32());
        var workers = p.GetProperty("perWorker").EnumerateArray().ToList();
        Assert.Equal(3, workers.Count);
        // 2 healthy series of 300 rows are trainable (the faulty one is split=test): 2 × (300 − 16 + 1) windows.
        Assert.Equal(570, p.GetProperty("trainableWindows").GetInt64());
        Assert.Equal(570, workers.Sum(w => w.GetProperty("windows").GetInt64()));
        Assert.InRange(p.GetProperty("imbalance").GetDouble(), 1.0, 1.10);
        Assert.Single(p.GetProperty("seriesWithoutTrainableWindows").EnumerateArray());
    }

    [Fact]
    public void PrintConfig_Json_ParsesBack()
    {
        var (code, stdout, _) = Cli.CliTests.Run("demo", "--print-config", "--json");

        Assert.Equal(0, code);
        Assert.Equal(60, JsonDocument.Parse(stdout).RootElement.GetProperty("rounds").GetProperty("value").GetInt32());
    }

    [Fact]
    public void DemoPrintConfig_WithAConfigFile_KeepsTheDemosDefaultsForFieldsTheFileLeavesOut()
    {
        using var dir = new TempDir();
        string small = dir.File("small.json");
        File.WriteAllText(small, "{ \"windowLength\": 16 }");

        var (code, stdout, _) = Cli.CliTests.Run("demo", "--config", small, "--print-config", "--json");

        Assert.Equal(0, code);
        var cfg = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(60, cfg.GetProperty("rounds").GetProperty("value").GetInt32());
        Assert.Equal(0, cfg.GetProperty("checkpointEvery").GetProperty("value").GetInt32());
        Assert.Equal(16, cfg.GetProperty("windowLength").GetProperty("value").GetInt32());
        Assert.Equal(small, cfg.GetProperty("windowLength").GetProperty("source").GetString());
    }
}
