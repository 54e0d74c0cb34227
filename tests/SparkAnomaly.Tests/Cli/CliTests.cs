using System.Text.Json;
using SparkAnomaly.Cli;

namespace SparkAnomaly.Tests.Cli;

/// <summary>The command line as a user meets it: exit codes, one-line errors, files, JSON.</summary>
public sealed class CliTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = SparkAnomaly.Cli.Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Demo_FindsTheInjectedFaults_PointWiseF1AtLeast08()
    {
        using var dir = new TempDir();
        string outDir = Path.Combine(dir.Path, "demo");

        var (code, stdout, stderr) = Run("demo", "--out", outDir, "--json", "--quiet");

        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var pw = json.RootElement.GetProperty("evaluation").GetProperty("pointWise");
        double f1 = pw.GetProperty("f1").GetDouble();
        Assert.True(f1 >= 0.8, $"point-wise F1 {f1:F3}");
        foreach (var f in new[] { "data.csv", "model.parquet", "scores.parquet", "stats.json" })
        {
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        }
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(outDir, OutputDirectory.LockFileName)));
    }

    [Fact]
    public void Train_SeriesHeldOutAsTest_IsOneNote_ATooShortSeriesStillWarns()
    {
        using var dir = new TempDir();
        var csv = new System.Text.StringBuilder("series_id,timestamp,a,b,split\n");
        void Add(string id, int rows, string split)
        {
            for (int t = 0; t < rows; t++)
            {
                csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"{id},{t},{Math.Sin(t * 0.3)},{Math.Cos(t * 0.2)},{split}\n");
            }
        }
        Add("train-1", 60, "train");
        Add("test-1", 60, "test");
        Add("test-2", 60, "test");
        Add("short", 5, "train");
        File.WriteAllText(dir.File("d.csv"), csv.ToString());

        var (code, _, stderr) = Run("train", "--data", dir.File("d.csv"), "--out", dir.File("run"), "--rounds", "1", "--window", "8", "--batch-size", "8");

        Assert.True(code == 0, stderr);
        Assert.Contains("not trained on: 2 series with split=test on every row (held out, as intended): test-1 (60 rows), test-2 (60 rows)", stderr);
        Assert.DoesNotContain("warning: series test-", stderr);
        Assert.Contains("warning: series short (5 rows) has no 8 consecutive trainable rows", stderr);
    }

    [Fact]
    public void GenerateTrainScore_OnOwnCsv_WritesModelAndScores()
    {
        using var dir = new TempDir();
        string data = Path.Combine(dir.Path, "data");
        Assert.Equal(0, Run("generate", "--out", data, "--healthy", "2", "--faulty", "1", "--length", "300", "--quiet").Code);
        string run = Path.Combine(dir.Path, "run");

        var train = Run("train", "--data", Path.Combine(data, "data.csv"), "--out", run, "--rounds", "3", "--window", "16", "--json", "--quiet");
        Assert.True(train.Code == 0, train.Err);
        Assert.Equal(3, JsonDocument.Parse(train.Out).RootElement.GetProperty("rounds").GetInt32());

        var score = Run("score", "--model", Path.Combine(run, "model.parquet"), "--data", Path.Combine(data, "data.csv"), "--out", Path.Combine(dir.Path, "scored"), "--json");
        Assert.True(score.Code == 0, score.Err);
        var s = JsonDocument.Parse(score.Out).RootElement;
        Assert.Equal(900, s.GetProperty("rows").GetInt64());
        Assert.True(File.Exists(Path.Combine(dir.Path, "scored", "scores.parquet")));
    }

    public static TheoryData<string[], string> BadInputs => new()
    {
        { new[] { "train", "--data", "/nonexistent/data.csv", "--out", "{out}" }, "data.csv" },
        { new[] { "train", "--data", "{nonnumeric}", "--out", "{out}" }, "numeric" },
        { new[] { "train", "--data", "{nonnumeric}", "--out", "{out}", "--workers", "0" }, "workers" },
        { new[] { "score", "--model", "{nonnumeric}", "--data", "{nonnumeric}", "--out", "{out}" }, "model" },
        { new[] { "score", "--model", "/nonexistent/model.parquet", "--data", "{nonnumeric}", "--out", "{out}" }, "model.parquet" },
        { new[] { "train", "--data", "{nonnumeric}" }, "--out" },
        { new[] { "train", "--data", "{nonnumeric}", "--out", "{out}", "--averaging", "mean" }, "averaging" },
        { new[] { "generate", "--out", "{out}", "--length", "2147483647" }, "--length" },
        { new[] { "train", "--data", "{nonnumeric}", "--out", "{out}", "--rounds", "5", "--epochs", "1" }, "pass one of them" },
        { new[] { "benchmark", "skab", "--data", "{out}", "--window", "500" }, "window is 500" },
        { new[] { "generate", "--out", "{out}", "--channels", "100000" }, "1024 channels" },
        { new[] { "generate", "--out", "{out}", "--healthy", "2147483647", "--length", "2147483647", "--channels", "4" }, "--length" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInput_ExitCode1_OneLineMessage_NoOutput(string[] args, string mentions)
    {
        using var dir = new TempDir();
        string nonNumeric = Path.Combine(dir.Path, "words.csv");
        File.WriteAllText(nonNumeric, "series_id,timestamp,comment\na,1,hello\na,2,world\n");
        string outDir = Path.Combine(dir.Path, "out");
        var resolved = args.Select(a => a.Replace("{out}", outDir).Replace("{nonnumeric}", nonNumeric)).ToArray();

        var (code, stdout, stderr) = Run(resolved);

        Assert.Equal(1, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains(mentions, stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(Directory.Exists(outDir), "no output directory after a refused run");
        Assert.Equal("", stdout);
    }

    [Fact]
    public void Train_ExistingOutputWithoutOverwrite_Refused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("keep.txt"), "precious");
        var data = Path.Combine(dir.Path, "d");
        Run("generate", "--out", data, "--healthy", "1", "--faulty", "0", "--length", "100", "--quiet");

        var (code, _, stderr) = Run("train", "--data", Path.Combine(data, "data.csv"), "--out", dir.Path, "--rounds", "1", "--window", "16");

        Assert.Equal(1, code);
        Assert.Contains("--overwrite", stderr);
        Assert.Equal("precious", File.ReadAllText(dir.File("keep.txt")));
    }

    [Fact]
    public void PrintConfig_ShowsEffectiveValuesAndTheirSource()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("c.json"), "{ \"rounds\": 7, \"seed\": 42 }");

        var (code, stdout, _) = Run("train", "--data", "x.csv", "--out", "o", "--config", dir.File("c.json"), "--workers", "3", "--print-config", "--json");

        Assert.Equal(0, code);
        var cfg = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(3, cfg.GetProperty("workers").GetProperty("value").GetInt32());
        Assert.Equal("command line", cfg.GetProperty("workers").GetProperty("source").GetString());
        Assert.Equal(7, cfg.GetProperty("rounds").GetProperty("value").GetInt32());
        Assert.Equal(dir.File("c.json"), cfg.GetProperty("rounds").GetProperty("source").GetString());
        Assert.Equal("default", cfg.GetProperty("batchSizePerWorker").GetProperty("source").GetString());

        // epochs decides the length of training when set, so rounds must not read as in force.
        var withEpochs = JsonDocument.Parse(Run("train", "--data", "x.csv", "--out", "o", "--config", dir.File("c.json"), "--epochs", "2", "--print-config", "--json").Out).RootElement;
        Assert.Equal(dir.File("c.json"), withEpochs.GetProperty("rounds").GetProperty("source").GetString());
        Assert.Equal("epochs is set", withEpochs.GetProperty("rounds").GetProperty("unused").GetString());
        Assert.Equal(JsonValueKind.Null, withEpochs.GetProperty("epochs").GetProperty("unused").ValueKind);
    }

    [Theory]
    [InlineData("last-step")]
    [InlineData("reconstruction-probability-last-step")]
    public void Train_ScoreRuleFlag_SetsTheConfigField(string rule)
    {
        var (code, stdout, _) = Run("train", "--data", "x.csv", "--out", "o", "--score-rule", rule, "--print-config", "--json");

        Assert.Equal(0, code);
        var field = JsonDocument.Parse(stdout).RootElement.GetProperty("scoreRule");
        Assert.Equal(rule, field.GetProperty("value").GetString());
        Assert.Equal("command line", field.GetProperty("source").GetString());
        Assert.Equal(1, Run("train", "--data", "x.csv", "--out", "o", "--score-rule", "median", "--print-config").Code);   // bad option value
    }
}
