using System.Diagnostics;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>Output directories: --overwrite, the lock that keeps two runs apart, stale locks and temp files.</summary>
public sealed class OutputDirectoryTests
{
    private static int DeadPid()
    {
        using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }

    [Fact]
    public void Claim_Twice_SecondRefusedNamingTheHolder()
    {
        using var dir = new TempDir();
        string outDir = dir.File("out");
        using var first = OutputDirectory.Claim(outDir, overwrite: false);

        var e = Assert.Throws<SparkAnomalyException>(() => OutputDirectory.Claim(outDir, overwrite: true));

        Assert.Contains($"process {Environment.ProcessId} {Environment.MachineName}", e.Message);
        Assert.Contains("in use by another run", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Cli_OverwriteDoesNotBypassALiveLock()
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string outDir = dir.File("out");
        using var held = OutputDirectory.Claim(outDir, overwrite: false);

        var (code, _, stderr) = Cli("train", "--data", data, "--out", outDir, "--overwrite", "--rounds", "1", "--window", "16");

        Assert.Equal(1, code);
        Assert.Contains($"lock held by process {Environment.ProcessId}", stderr);
        Assert.True(Directory.Exists(outDir), "the holder's directory is left alone");
    }

    [Fact]
    public async Task Cli_TwoProcessesOnOneOutput_SecondRefusedNamingTheLiveHolder()
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string config = ReliabilityFixtures.WriteTinyConfig(dir.Path);
        string outDir = dir.File("out");
        string marker = dir.File("paused");
        using var first = ReliabilityFixtures.StartCli(new[] { "train", "--data", data, "--out", outDir, "--config", config, "--rounds", "3", "--quiet" },
            new Dictionary<string, string> { [SparkAnomaly.Training.PausePoint.PauseAtVariable] = "fit:1", [SparkAnomaly.Training.PausePoint.MarkerVariable] = marker });
        try
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(marker) && !first.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(20);
            }
            Assert.True(File.Exists(marker), "the first run reached round 1");

            var second = ReliabilityFixtures.RunCli("train", "--data", data, "--out", outDir, "--config", config, "--rounds", "3", "--resume", "--overwrite");

            Assert.Equal(1, second.Code);
            Assert.Contains($"lock held by process {first.Id} {Environment.MachineName}", second.Err);
            Assert.Single(second.Err.Trim().Split('\n'));
        }
        finally
        {
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }
    }

    [Fact]
    public void Claim_StaleLockOnThisHost_TakenOver()
    {
        using var dir = new TempDir();
        string outDir = dir.File("out");
        Directory.CreateDirectory(outDir);
        string lockFile = Path.Combine(outDir, OutputDirectory.LockFileName);
        File.WriteAllText(lockFile, $"{DeadPid()} {Environment.MachineName} 2026-01-01T00:00:00Z");

        using (var claimed = OutputDirectory.Claim(outDir, overwrite: false))
        {
            Assert.StartsWith($"{Environment.ProcessId} ", ReadShared(lockFile));
        }

        Assert.False(File.Exists(lockFile));
    }

    [Fact]
    public void Claim_LockThatLooksStaleButIsStillOpen_NotTakenOver()
    {
        // Two runs that both read a dead holder's lock race to take it; the winner holds its lock open, as a live
        // run does. The loser must see that, not the dead pid it read a moment ago.
        using var dir = new TempDir();
        string outDir = dir.File("out");
        Directory.CreateDirectory(outDir);
        string lockFile = Path.Combine(outDir, OutputDirectory.LockFileName);
        File.WriteAllText(lockFile, $"{DeadPid()} {Environment.MachineName} 2026-01-01T00:00:00Z");
        using var heldOpen = new FileStream(lockFile, FileMode.Open, FileAccess.Read, FileShare.Read);

        var e = Assert.Throws<SparkAnomalyException>(() => OutputDirectory.Claim(outDir, overwrite: false));

        Assert.Contains("in use by another run", e.Message);
        Assert.True(File.Exists(lockFile));
    }

    [Fact]
    public void Claim_LockOfAnotherHost_NotTakenOver()
    {
        using var dir = new TempDir();
        string outDir = dir.File("out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, OutputDirectory.LockFileName), "4242 other-node-7 2026-01-01T00:00:00Z");

        var e = Assert.Throws<SparkAnomalyException>(() => OutputDirectory.Claim(outDir, overwrite: true, resume: true));

        Assert.Contains("4242 other-node-7", e.Message);
    }

    [Fact]
    public void Claim_RemovesStaleTempFilesOfAtomicWrites_KeepsOtherFiles()
    {
        using var dir = new TempDir();
        string outDir = dir.File("out");
        Directory.CreateDirectory(outDir);
        string stale = SparkAnomaly.Training.AtomicFile.TempNameFor(Path.Combine(outDir, "checkpoint.bin"));
        File.WriteAllText(stale, "half a checkpoint");
        File.WriteAllText(Path.Combine(outDir, ".notes.tmp"), "not ours");
        File.WriteAllText(Path.Combine(outDir, "checkpoint.bin"), "x");

        using (OutputDirectory.Claim(outDir, overwrite: false, resume: true))
        {
        }

        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(Path.Combine(outDir, ".notes.tmp")));
        Assert.True(File.Exists(Path.Combine(outDir, "checkpoint.bin")));
    }

    [Fact]
    public void Claim_CreatedAndLeftEmpty_RemovedOnDispose_ExistingEmptyDirectoryKept()
    {
        using var dir = new TempDir();
        string created = dir.File("new");
        using (OutputDirectory.Claim(created, overwrite: false))
        {
            Assert.True(Directory.Exists(created));
        }
        Assert.False(Directory.Exists(created));

        string existing = dir.File("existing");
        Directory.CreateDirectory(existing);
        using (OutputDirectory.Claim(existing, overwrite: false))
        {
        }
        Assert.True(Directory.Exists(existing));
    }

    [Fact]
    public void Cli_Overwrite_ReplacesTheRunsFiles_LeavesOthers()
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string config = ReliabilityFixtures.WriteTinyConfig(dir.Path);
        string outDir = dir.File("out");
        Assert.Equal(0, Cli("train", "--data", data, "--out", outDir, "--config", config, "--rounds", "1", "--quiet").Code);
        var first = ModelFile.Load(Path.Combine(outDir, "model.parquet")).Parameters;
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");

        var refused = Cli("train", "--data", data, "--out", outDir, "--config", config, "--rounds", "2", "--quiet");
        Assert.Equal(1, refused.Code);
        Assert.Contains("--overwrite", refused.Err);
        Assert.Equal(first, ModelFile.Load(Path.Combine(outDir, "model.parquet")).Parameters);

        var again = Cli("train", "--data", data, "--out", outDir, "--config", config, "--rounds", "2", "--quiet", "--overwrite");

        Assert.True(again.Code == 0, again.Err);
        Assert.NotEqual(first, ModelFile.Load(Path.Combine(outDir, "model.parquet")).Parameters);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(outDir, "notes.txt")));
        Assert.Empty(Directory.GetFiles(outDir, ".*"));
    }

    [Theory]
    [InlineData("generate")]
    [InlineData("score")]
    [InlineData("train")]
    [InlineData("demo")]
    public void Cli_EmptyOut_ExitOne_OneLine(string command)
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string model = Path.Combine(dir.File("run"), "model.parquet");
        if (command == "score")
        {
            Assert.Equal(0, Cli("train", "--data", data, "--out", dir.File("run"), "--config", ReliabilityFixtures.WriteTinyConfig(dir.Path), "--rounds", "1", "--quiet").Code);
        }
        string[] args = command switch
        {
            "generate" => new[] { "generate", "--out", "" },
            "score" => new[] { "score", "--model", model, "--data", data, "--out", "" },
            "train" => new[] { "train", "--data", data, "--out", "" },
            _ => new[] { "demo", "--out", "" },
        };
        var e = Assert.Throws<SparkAnomalyException>(() => OutputDirectory.Claim("", overwrite: false));
        Assert.Contains("--out is empty", e.Message);

        var (code, stdout, stderr) = Cli(args);

        Assert.True(code == 1, stderr);
        Assert.Equal("", stdout);
        Assert.StartsWith("error: --out is empty", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Claim_OnlyAStaleLockAndOurTempFiles_NotContent_Cleaned()
    {
        // What Ctrl-C of `generate` leaves: the dead run's lock and its half-written data.csv under a temporary name.
        using var dir = new TempDir();
        string outDir = dir.File("g");
        Directory.CreateDirectory(outDir);
        string lockFile = Path.Combine(outDir, OutputDirectory.LockFileName);
        File.WriteAllText(lockFile, $"{DeadPid()} {Environment.MachineName} 2026-01-01T00:00:00Z");
        string torn = SparkAnomaly.Training.AtomicFile.TempNameFor(Path.Combine(outDir, "data.csv"));
        File.WriteAllText(torn, "series_id,timestamp,");

        var (code, _, stderr) = Cli("generate", "--out", outDir, "--healthy", "1", "--faulty", "0", "--length", "50", "--channels", "2", "--quiet");

        Assert.True(code == 0, stderr);
        Assert.False(File.Exists(torn));
        Assert.False(File.Exists(lockFile));
        Assert.Equal(new[] { Path.Combine(outDir, "data.csv") }, Directory.GetFileSystemEntries(outDir));
    }

    [Fact]
    public void Claim_OurTempFilesOfALiveRun_RefusedAsInUse_NotAsNotEmpty()
    {
        using var dir = new TempDir();
        string outDir = dir.File("out");
        using var held = OutputDirectory.Claim(outDir, overwrite: false);
        string writing = SparkAnomaly.Training.AtomicFile.TempNameFor(Path.Combine(outDir, "data.csv"));
        File.WriteAllText(writing, "in progress");

        var e = Assert.Throws<SparkAnomalyException>(() => OutputDirectory.Claim(outDir, overwrite: false));

        Assert.Contains("in use by another run", e.Message);
        Assert.True(File.Exists(writing), "the live run's temporary file is left alone");
    }

    [Fact]
    public void Cli_NotEmpty_HintNamesResumeOnlyWhereTheCommandHasIt()
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string outDir = dir.File("out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");

        var generate = Cli("generate", "--out", outDir);
        var train = Cli("train", "--data", data, "--out", outDir);

        Assert.Equal(1, generate.Code);
        Assert.Contains("already exists and is not empty. Pass --overwrite", generate.Err);
        Assert.DoesNotContain("--resume", generate.Err);
        Assert.Equal(1, train.Code);
        Assert.Contains("--resume to continue a run", train.Err);
    }

    [Fact]
    public void Claim_Overwrite_RemovesThePreviousOutputsOnly_ResumeKeepsThem()
    {
        using var dir = new TempDir();
        string outDir = dir.File("out");
        Directory.CreateDirectory(Path.Combine(outDir, "training.png"));   // a directory of an output's name is left for the write to report
        foreach (var f in new[] { "model.parquet", "checkpoint.bin", "notes.txt" })
        {
            File.WriteAllText(Path.Combine(outDir, f), "old");
        }
        var outputs = new[] { "checkpoint.bin", "model.parquet", "stats.json", "training.png" };

        using (var resumed = OutputDirectory.Claim(outDir, overwrite: true, resume: true, outputs: outputs))
        {
            resumed.RemovePreviousOutputs();
            Assert.True(File.Exists(Path.Combine(outDir, "model.parquet")), "--resume keeps the run's files");
        }
        using (var claimed = OutputDirectory.Claim(outDir, overwrite: true, outputs: outputs))
        {
            Assert.True(File.Exists(Path.Combine(outDir, "model.parquet")), "nothing is removed until the run is about to write");
            claimed.RemovePreviousOutputs();
            Assert.False(File.Exists(Path.Combine(outDir, "model.parquet")));
            Assert.False(File.Exists(Path.Combine(outDir, "checkpoint.bin")));
        }

        Assert.Equal("old", File.ReadAllText(Path.Combine(outDir, "notes.txt")));
        Assert.True(Directory.Exists(Path.Combine(outDir, "training.png")));
    }

    [Fact]
    public void Cli_OverwriteRefusedBeforeTraining_KeepsThePreviousRun()
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string config = ReliabilityFixtures.WriteTinyConfig(dir.Path);
        string outDir = dir.File("out");
        Assert.Equal(0, Cli("train", "--data", data, "--out", outDir, "--config", config, "--rounds", "1", "--quiet").Code);
        byte[] model = File.ReadAllBytes(Path.Combine(outDir, "model.parquet"));

        // Refused by the run itself, after the claim: the epochs imply more rounds than the cap.
        var refused = Cli("train", "--data", data, "--out", outDir, "--config", config, "--epochs", "1000000", "--batch-size", "1", "--overwrite");

        Assert.Equal(1, refused.Code);
        Assert.Contains("rounds", refused.Err);
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(outDir, "model.parquet")));
        Assert.True(File.Exists(Path.Combine(outDir, "stats.json")));
    }

    [Fact]
    public void Cli_InterruptedOverwrite_LeavesNoStaleModelBesideTheNewRun()
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string config = ReliabilityFixtures.WriteTinyConfig(dir.Path, ReliabilityFixtures.TinyConfigJson.Replace("}", ", \"maxTaskRetries\": 1 }"));
        string outDir = dir.File("out");
        Assert.Equal(0, Cli("train", "--data", data, "--out", outDir, "--config", config, "--rounds", "1", "--quiet").Code);
        Assert.True(File.Exists(Path.Combine(outDir, "model.parquet")));
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");

        // The new run dies in its first round (every attempt of worker 0 throws), before any file of its own.
        var failed = Cli("train", "--data", data, "--out", outDir, "--config", config, "--rounds", "2", "--overwrite", "--inject-fault", "0:0:throw:10");

        Assert.Equal(1, failed.Code);
        foreach (var f in new[] { "model.parquet", "stats.json", "training.png", "checkpoint.bin" })
        {
            Assert.False(File.Exists(Path.Combine(outDir, f)), $"{f} of the previous run is still there");
        }
        Assert.DoesNotContain("--resume", failed.Err);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(outDir, "notes.txt")));
        var score = Cli("score", "--model", Path.Combine(outDir, "model.parquet"), "--data", data, "--out", dir.File("scored"));
        Assert.Equal(1, score.Code);
    }

    internal static (int Code, string Out, string Err) Cli(params string[] args) => SparkAnomaly.Tests.Cli.CliTests.Run(args);

    private static string ReadShared(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(fs).ReadToEnd();
    }
}
