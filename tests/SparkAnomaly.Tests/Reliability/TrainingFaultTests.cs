using System.Text.Json;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>
/// Training faults through the CLI: retried faults leave the model bit-identical to a fault-free run;
/// exhausted retries and diverging training end with exit 1, one clear line, and the last checkpoint intact.
/// </summary>
public sealed class TrainingFaultTests
{
    private const int Rounds = 4;

    private sealed class Run : IDisposable
    {
        private readonly TempDir _dir = new();

        public Run(string? configJson = null)
        {
            Data = ReliabilityFixtures.WriteTinyCsv(_dir.Path);
            Config = ReliabilityFixtures.WriteTinyConfig(_dir.Path, configJson);
        }

        public string Data { get; }

        public string Config { get; }

        public string Out(string name) => _dir.File(name);

        public (int Code, string Out, string Err) Train(string outDir, params string[] extra) => SparkAnomaly.Tests.Cli.CliTests.Run(
            new[] { "train", "--data", Data, "--out", outDir, "--config", Config, "--rounds", Rounds.ToString(), "--checkpoint-every", "1", "--quiet" }.Concat(extra).ToArray());

        public void Dispose() => _dir.Dispose();
    }

    private static float[] Parameters(string outDir) => ModelFile.Load(Path.Combine(outDir, "model.parquet")).Parameters;

    [Fact]
    public void Cli_EveryFaultKindRetried_ModelBitIdenticalToFaultFreeRun()
    {
        using var run = new Run();
        Assert.Equal(0, run.Train(run.Out("clean")).Code);

        var faulty = run.Train(run.Out("faulty"), "--inject-fault", "1:0:throw", "--inject-fault", "0:1:nan", "--inject-fault", "1:2:wrong-shape:2", "--inject-fault", "0:3:duplicate");

        Assert.True(faulty.Code == 0, faulty.Err);
        Assert.Equal(Parameters(run.Out("clean")), Parameters(run.Out("faulty")));
        using var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.Out("faulty"), "stats.json")));
        var rounds = stats.RootElement.GetProperty("rounds").EnumerateArray().ToList();
        Assert.Equal(4, rounds.Sum(r => r.GetProperty("retries").GetInt32()));
        Assert.Equal(1, rounds.Sum(r => r.GetProperty("duplicatesIgnored").GetInt32()));
    }

    [Theory]
    [InlineData("throw", "injected fault")]
    [InlineData("nan", "non-finite parameters")]
    [InlineData("wrong-shape", "parameters, the model has")]
    public void Cli_RetriesExhausted_OneLineError_LastCheckpointIntact_ResumeBitIdentical(string kind, string reason)
    {
        using var run = new Run(ReliabilityFixtures.TinyConfigJson.Replace("}", ", \"maxTaskRetries\": 2 }"));
        Assert.Equal(0, run.Train(run.Out("clean")).Code);
        string outDir = run.Out("failing");

        var (code, stdout, stderr) = run.Train(outDir, "--inject-fault", $"0:2:{kind}:10");

        Assert.Equal(1, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("worker 0 failed round 2 3 times", stderr);
        Assert.Contains(reason, stderr);
        Assert.Contains("checkpoint.bin' is intact", stderr);
        Assert.DoesNotContain("..", stderr);
        Assert.Equal("", stdout);
        var config = ReliabilityFixtures.TinyConfig(Rounds) with { MaxTaskRetries = 2 };
        Assert.Equal(2, ReliabilityFixtures.CheckpointRounds(Path.Combine(outDir, "checkpoint.bin"), config, channels: 3));
        Assert.False(File.Exists(Path.Combine(outDir, "model.parquet")));
        Assert.Empty(Directory.GetFiles(outDir, ".*"));   // no lock, no temporary files

        var resumed = run.Train(outDir, "--resume");

        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Equal(Parameters(run.Out("clean")), Parameters(outDir));
    }

    [Fact]
    public void Cli_LearningRate1e6_DivergesToNaN_ClearErrorNoOutput()
    {
        using var run = new Run(ReliabilityFixtures.TinyConfigJson.Replace("}", ", \"learningRate\": 1e6 }"));
        string outDir = run.Out("diverged");

        var (code, _, stderr) = run.Train(outDir);

        Assert.Equal(1, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("loss became NaN", stderr);
        Assert.Contains("Lower learningRate", stderr);
        Assert.False(Directory.Exists(outDir), "nothing was written, so nothing is left");
    }

    [Fact]
    public void Cli_NonFiniteAfterCheckpoints_LastCheckpointIntactAndResumable()
    {
        // A worker whose result turns non-finite from round 3 on, on every attempt: the run stops with the
        // checkpoint of round 3 intact; the same checkpoint resumes once the cause is gone.
        using var run = new Run();
        Assert.Equal(0, run.Train(run.Out("clean")).Code);
        string outDir = run.Out("nan");

        var (code, _, stderr) = run.Train(outDir, "--inject-fault", "1:3:nan:99");

        Assert.Equal(1, code);
        Assert.Contains("non-finite", stderr);
        byte[] checkpoint = File.ReadAllBytes(Path.Combine(outDir, "checkpoint.bin"));
        Assert.Equal(3, ReliabilityFixtures.CheckpointRounds(Path.Combine(outDir, "checkpoint.bin"), ReliabilityFixtures.TinyConfig(Rounds), channels: 3));

        var resumed = run.Train(outDir, "--resume", "--json");

        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Equal(3, JsonDocument.Parse(resumed.Out).RootElement.GetProperty("resumedFromRound").GetInt32());
        Assert.Equal(Parameters(run.Out("clean")), Parameters(outDir));
        Assert.NotEqual(checkpoint, File.ReadAllBytes(Path.Combine(outDir, "checkpoint.bin")));
    }

    [Fact]
    public void Checkpoint_AnyByteFlippedOrTruncated_RefusedNeverMisread()
    {
        using var run = new Run();
        string outDir = run.Out("ckpt");
        Assert.Equal(0, run.Train(outDir).Code);
        string path = Path.Combine(outDir, "checkpoint.bin");
        var good = File.ReadAllBytes(path);
        var config = ReliabilityFixtures.TinyConfig(Rounds);
        int refused = 0;
        for (int i = 0; i < good.Length; i += 5)
        {
            var bad = good.ToArray();
            bad[i] ^= 0x01;
            File.WriteAllBytes(path, bad);
            Assert.Throws<SparkAnomalyException>(() => ReliabilityFixtures.CheckpointRounds(path, config, channels: 3));
            refused++;
        }
        Assert.True(refused > 100);

        File.WriteAllBytes(path, good[..(good.Length - 100)]);
        File.Delete(Path.Combine(outDir, "model.parquet"));
        var (code, _, stderr) = run.Train(outDir, "--resume");

        Assert.Equal(1, code);
        Assert.Contains("checkpoint.bin", stderr);
        Assert.Contains("checksum", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }
}
