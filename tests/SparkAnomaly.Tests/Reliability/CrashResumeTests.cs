using System.Diagnostics;
using System.Text.Json;
using SparkAnomaly.Scoring;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>
/// SIGKILL a real <c>sparkanomaly train</c> process at a known point (the <see cref="PausePoint"/> hook),
/// then check what a crash leaves behind and that <c>--resume</c> ends bit-identical to an uninterrupted run.
/// </summary>
public sealed class CrashResumeTests
{
    private const int Rounds = 5;

    private static readonly Lazy<float[]> s_reference = new(() =>
    {
        using var dir = new TempDir();
        var (data, config) = (ReliabilityFixtures.WriteTinyCsv(dir.Path), ReliabilityFixtures.WriteTinyConfig(dir.Path));
        string outDir = dir.File("ref");
        var r = ReliabilityFixtures.RunCli(TrainArgs(data, config, outDir));
        Assert.True(r.Code == 0, r.Err);
        return ModelFile.Load(Path.Combine(outDir, "model.parquet")).Parameters;
    });

    private static string[] TrainArgs(string data, string config, string outDir, params string[] extra) =>
        new[] { "train", "--data", data, "--out", outDir, "--config", config, "--rounds", Rounds.ToString(), "--checkpoint-every", "1", "--workers", "2", "--quiet", "--json" }
            .Concat(extra).ToArray();

    /// <summary>Pause point, then the rounds the checkpoint on disk must hold when the process dies there.</summary>
    public static TheoryData<string, int, bool> KillPoints => new()
    {
        { "fit:0", 0, false },              // before any checkpoint: nothing to resume from, resume starts afresh
        { "fit:2", 2, false },              // worker 0 mid-task in round 2; checkpoints of rounds 1 and 2 done
        { "average:3", 3, false },          // driver between collect and average of round 3
        { "checkpoint-write:3", 2, true },  // half of checkpoint 3 flushed to its temporary file: checkpoint 2 must still be whole
        { "checkpoint-write:5", 4, true },  // the same for the final checkpoint
        { "model-write:5", 5, false },      // every round checkpointed, model.parquet not yet written: resume trains nothing
    };

    [Theory]
    [MemberData(nameof(KillPoints))]
    public async Task Sigkill_AtPoint_LeavesWholeCheckpoint_ResumeBitIdentical(string point, int checkpointRounds, bool tornTempExpected)
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string config = ReliabilityFixtures.WriteTinyConfig(dir.Path);
        string outDir = dir.File("run");
        string marker = dir.File("paused");

        // Given a training process paused at the point, when it is killed with SIGKILL
        int deadPid;
        using (var child = ReliabilityFixtures.StartCli(TrainArgs(data, config, outDir), new Dictionary<string, string>
        {
            [PausePoint.PauseAtVariable] = point,
            [PausePoint.MarkerVariable] = marker,
        }))
        {
            deadPid = child.Id;
            var stderr = child.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (!File.Exists(marker))
            {
                if (child.HasExited)
                {
                    Assert.Fail($"the child exited before reaching {point}: {await stderr}");
                }
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"{point} not reached in 60 s");
                await Task.Delay(20);
            }
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }

        // Then: the dead run's lock is left, the checkpoint is the previous or the new complete one, never torn
        string lockFile = Path.Combine(outDir, OutputDirectory.LockFileName);
        Assert.StartsWith(deadPid + " ", File.ReadAllText(lockFile));
        string ckpt = Path.Combine(outDir, "checkpoint.bin");
        var cfg = ReliabilityFixtures.TinyConfig(Rounds);
        if (checkpointRounds == 0)
        {
            Assert.False(File.Exists(ckpt));
        }
        else
        {
            Assert.Equal(checkpointRounds, ReliabilityFixtures.CheckpointRounds(ckpt, cfg, channels: 3));
        }
        Assert.False(File.Exists(Path.Combine(outDir, "model.parquet")), "no model from a killed run");
        var temps = Directory.GetFiles(outDir, ".*.tmp");
        Assert.Equal(tornTempExpected ? 1 : 0, temps.Length);

        // a fresh run without --resume refuses a directory holding a checkpoint; a --resume run takes the stale lock over
        if (checkpointRounds > 0)
        {
            var refused = ReliabilityFixtures.RunCli(TrainArgs(data, config, outDir));
            Assert.Equal(1, refused.Code);
            Assert.Contains("--resume", refused.Err);
        }

        var resumed = ReliabilityFixtures.RunCli(TrainArgs(data, config, outDir, "--resume"));

        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Equal(checkpointRounds, JsonDocument.Parse(resumed.Out).RootElement.GetProperty("resumedFromRound").GetInt32());
        Assert.Equal(s_reference.Value, ModelFile.Load(Path.Combine(outDir, "model.parquet")).Parameters);
        Assert.False(File.Exists(lockFile), "the lock is released at the end");
        Assert.Empty(Directory.GetFiles(outDir, ".*.tmp"));
        Assert.Equal(Rounds, ReliabilityFixtures.CheckpointRounds(ckpt, cfg, channels: 3));
    }
}
