using System.Text.Json;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>
/// 'train --data D --out O --resume', as the README shows it, resumes with the settings the run was started
/// with (read from its checkpoint); a flag that contradicts them is still refused.
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
        var contradicted = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--resume", "--rounds", "4", "--quiet");

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
        Assert.Contains("rounds: 3 -> 4", contradicted.Err);

        // Resumed again with every round done: the summary says why there is no loss, instead of "NaN" and "0 windows/s".
        File.Delete(Path.Combine(outDir, "model.parquet"));
        var again = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--resume", "--quiet");
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("resumed after round 3", again.Out);
        Assert.Contains("no round trained in this run: the checkpoint already held all 3 rounds", again.Out);
        Assert.DoesNotContain("NaN", again.Out);
        Assert.DoesNotContain("0 windows/s", again.Out);
    }
}
