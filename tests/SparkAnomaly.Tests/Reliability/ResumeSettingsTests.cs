using System.Text.Json;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>
/// 'train --data D --out O --resume', as the README shows it, resumes with the settings the run was started
/// with (read from its checkpoint); --rounds continues it further; a flag that changes the math is still refused.
/// </summary>
public sealed class ResumeSettingsTests
{
    [Fact]
    public void Resume_WithoutRepeatingTheOptions_TakesTheCheckpointsSettings()
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string config = ReliabilityFixtures.WriteTinyConfig(dir.Path);
        string outDir = dir.File("run");
        var first = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--config", config, "--rounds", "3", "--seed", "5", "--checkpoint-every", "1", "--quiet", "--json");
        Assert.True(first.Code == 0, first.Err);
        File.Delete(Path.Combine(outDir, "model.parquet"));   // as after a crash before the model was written

        var printed = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--resume", "--print-config", "--json");
        var resumed = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--resume", "--quiet", "--json");
        var contradicted = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--resume", "--seed", "6", "--rounds", "4", "--quiet");

        Assert.True(printed.Code == 0, printed.Err);
        var cfg = JsonDocument.Parse(printed.Out).RootElement;
        Assert.Equal(5, cfg.GetProperty("seed").GetProperty("value").GetInt64());
        Assert.Equal("checkpoint", cfg.GetProperty("seed").GetProperty("source").GetString());
        Assert.Equal(16, cfg.GetProperty("windowLength").GetProperty("value").GetInt32());
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Equal(3, JsonDocument.Parse(resumed.Out).RootElement.GetProperty("resumedFromRound").GetInt32());
        var model = ModelFile.Load(Path.Combine(outDir, "model.parquet"));
        Assert.Equal(5, model.Provenance.Seed);
        Assert.Equal(3, model.Provenance.Rounds);
        Assert.Equal(1, contradicted.Code);
        Assert.Contains("seed: 5 -> 6", contradicted.Err);
        Assert.DoesNotContain("rounds:", contradicted.Err);
        Assert.Contains("may change only the length of training", contradicted.Err);

        // Resumed again with every round done: the summary says why there is no loss, instead of "NaN" and "0 windows/s".
        File.Delete(Path.Combine(outDir, "model.parquet"));
        var again = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--resume", "--quiet");
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("resumed after round 3", again.Out);
        Assert.Contains("no round trained in this run: the checkpoint already held all 3 rounds", again.Out);
        // The checkpoint keeps the last round's loss, so the summary and the model's provenance still have it.
        Assert.Matches(@"final loss\s+\d+\.\d{4} \(no round trained", again.Out);
        Assert.True(double.IsFinite(ModelFile.Load(Path.Combine(outDir, "model.parquet")).Provenance.FinalLoss));
        Assert.DoesNotContain("NaN", again.Out);
        Assert.DoesNotContain("0 windows/s", again.Out);
    }

    /// <summary>
    /// DL4J users train more by calling fit again: 'train --resume --rounds N' continues a finished run to N rounds, and the
    /// model equals that of a run asked for N rounds from the start. Fewer rounds than the checkpoint holds is refused.
    /// </summary>
    [Fact]
    public void Resume_WithMoreRounds_ContinuesTheFinishedRun_ToTheModelOfAStraightRun()
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string config = ReliabilityFixtures.WriteTinyConfig(dir.Path);
        string outDir = dir.File("run"), straightDir = dir.File("straight");
        var first = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--config", config, "--rounds", "2", "--seed", "5", "--quiet");
        Assert.True(first.Code == 0, first.Err);
        var straight = ReliabilityFixtures.RunCli("train", "--data", data, "--out", straightDir, "--config", config, "--rounds", "4", "--seed", "5", "--quiet");
        Assert.True(straight.Code == 0, straight.Err);

        var fewer = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--resume", "--rounds", "1", "--quiet");
        var printed = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--resume", "--rounds", "4", "--print-config", "--json");
        var more = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--resume", "--rounds", "4", "--quiet", "--json");

        Assert.Equal(1, fewer.Code);
        Assert.Contains("already holds 2 rounds, and rounds is 1", fewer.Err);
        Assert.Contains("--rounds 2 or more", fewer.Err);
        Assert.True(printed.Code == 0, printed.Err);
        var cfg = JsonDocument.Parse(printed.Out).RootElement;
        Assert.Equal("command line", cfg.GetProperty("rounds").GetProperty("source").GetString());
        Assert.Equal("checkpoint", cfg.GetProperty("seed").GetProperty("source").GetString());
        Assert.True(more.Code == 0, more.Err);
        var summary = JsonDocument.Parse(more.Out).RootElement;
        Assert.Equal(2, summary.GetProperty("resumedFromRound").GetInt32());
        Assert.Equal(4, summary.GetProperty("rounds").GetInt32());
        var continued = ModelFile.Load(Path.Combine(outDir, "model.parquet"));
        var expected = ModelFile.Load(Path.Combine(straightDir, "model.parquet"));
        Assert.Equal(expected.Parameters, continued.Parameters);
        Assert.Equal(expected.Threshold.Value, continued.Threshold.Value);
        Assert.Equal(expected.Provenance.Rounds, continued.Provenance.Rounds);
        Assert.Equal(expected.Provenance.FinalLoss, continued.Provenance.FinalLoss);
        Assert.Equal(expected.Provenance.ConfigJson, continued.Provenance.ConfigJson);
        Assert.Equal(File.ReadAllBytes(Path.Combine(straightDir, "checkpoint.bin")), File.ReadAllBytes(Path.Combine(outDir, "checkpoint.bin")));
    }
}
