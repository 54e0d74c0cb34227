using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>
/// A write the environment refuses (disk full, permission denied, a directory in the way) is a user
/// error: exit 1 with one line naming the file, the reason and what to do, no temporary file left.
/// The tests run as root, so they force the failure with paths that fail for root too: a target that is
/// an existing directory, and a parent that is a file.
/// </summary>
public sealed class WriteFailureTests
{
    [Fact]
    public void AtomicFile_TargetIsADirectory_UserErrorNamingTheFile_NoTempLeft()
    {
        using var dir = new TempDir();
        string target = dir.File("model.parquet");
        Directory.CreateDirectory(target);

        var e = Assert.Throws<SparkAnomalyException>(() => AtomicFile.WriteAllText(target, "x"));

        Assert.Contains($"cannot write '{target}'", e.Message);
        Assert.Contains("choose another output path", e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void AtomicFile_ParentIsAFile_UserErrorNamingTheFile()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("plain"), "a file, not a directory");
        string target = Path.Combine(dir.File("plain"), "scores.parquet");

        var e = Assert.Throws<SparkAnomalyException>(() => AtomicFile.Write(target, s => s.WriteByte(1)));

        Assert.Contains($"cannot write '{target}'", e.Message);
        Assert.IsAssignableFrom<IOException>(e.InnerException);
    }

    [Fact]
    public void Cli_OutputFileBlockedByADirectory_ExitOne_OneLine_NoTempLeft()
    {
        using var dir = new TempDir();
        string outDir = dir.File("out");
        Directory.CreateDirectory(Path.Combine(outDir, "data.csv"));

        var (code, stdout, stderr) = Cli.CliTests.Run("generate", "--out", outDir, "--overwrite", "--healthy", "1", "--faulty", "0", "--length", "50", "--channels", "2", "--quiet");

        Assert.True(code == 1, stderr);
        Assert.StartsWith($"error: cannot write '{Path.Combine(outDir, "data.csv")}'", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Equal("", stdout);
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp"));
        Assert.False(File.Exists(Path.Combine(outDir, OutputDirectory.LockFileName)));
    }

    [Fact]
    public void Cli_ChartBlocked_StillAWarning_RunSucceeds()
    {
        using var dir = new TempDir();
        string data = ReliabilityFixtures.WriteTinyCsv(dir.Path);
        string config = ReliabilityFixtures.WriteTinyConfig(dir.Path);
        string outDir = dir.File("out");
        Directory.CreateDirectory(Path.Combine(outDir, "training.png"));

        var (code, _, stderr) = Cli.CliTests.Run("train", "--data", data, "--out", outDir, "--config", config, "--rounds", "1", "--overwrite");

        Assert.True(code == 0, stderr);
        Assert.Contains("warning: training.png was not written", stderr);
        Assert.True(File.Exists(Path.Combine(outDir, "model.parquet")));
    }
}
