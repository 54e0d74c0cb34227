using SparkAnomaly.Tests.Cli;

namespace SparkAnomaly.Tests.Skab;

/// <summary>
/// `evaluate --report PATH` with a path it cannot or must not write: refused with one line (exit 1)
/// before the evaluation, leaving no file behind, and never replacing an input.
/// </summary>
public sealed class EvaluateReportPathTests
{
    [Theory]
    [InlineData("missing-parent", "does not exist")]
    [InlineData("directory", "is a directory")]
    [InlineData("empty", "--report is empty")]
    [InlineData("parent-is-a-file", "does not exist")]
    public void Evaluate_ReportPathCannotBeWritten_ExitOne_OneLine_NothingLeft(string kind, string expected)
    {
        using var dir = new TempDir();
        string scores = ScoresFixture.Write(dir.File("scores.parquet"));
        Directory.CreateDirectory(dir.File("adir"));
        string report = kind switch
        {
            "missing-parent" => Path.Combine(dir.Path, "nope", "sub", "r.html"),
            "directory" => dir.File("adir"),
            "empty" => "",
            _ => Path.Combine(scores, "r.html"),
        };
        var before = Directory.GetFileSystemEntries(dir.Path, "*", SearchOption.AllDirectories).Order().ToList();

        var (code, stdout, stderr) = CliTests.Run("evaluate", "--scores", scores, "--report", report);

        Assert.True(code == 1, stderr);
        Assert.Equal("", stdout);
        Assert.StartsWith("error: ", stderr);
        Assert.Contains(expected, stderr);
        Assert.Contains("--report", stderr);
        Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
        Assert.Equal(before, Directory.GetFileSystemEntries(dir.Path, "*", SearchOption.AllDirectories).Order().ToList());
        Assert.Empty(Directory.GetFiles(Environment.CurrentDirectory, ".*.tmp"));
    }

    [Theory]
    [InlineData("--scores")]
    [InlineData("--labels")]
    public void Evaluate_ReportIsAnInput_Refused_InputUntouched(string which)
    {
        using var dir = new TempDir();
        string scores = ScoresFixture.Write(dir.File("scores.parquet"));
        string labels = dir.File("labels.csv");
        File.WriteAllText(labels, "series_id,timestamp,label\ns0,0,0\n");
        string input = which == "--scores" ? scores : labels;
        byte[] original = File.ReadAllBytes(input);
        // The same file by another spelling of its path.
        string report = Path.Combine(dir.Path, ".", Path.GetFileName(input));

        var (code, _, stderr) = CliTests.Run("evaluate", "--scores", scores, "--labels", labels, "--report", report);

        Assert.True(code == 1, stderr);
        Assert.Contains($"is the {which} file", stderr);
        Assert.Equal(original, File.ReadAllBytes(input));
    }

    [Fact]
    public void Evaluate_ExistingReport_Replaced_UsersTmpFileKept()
    {
        using var dir = new TempDir();
        string scores = ScoresFixture.Write(dir.File("scores.parquet"));
        File.WriteAllText(dir.File("report.html"), "old report");
        File.WriteAllText(dir.File("report.html.tmp"), "mine");

        var (code, _, stderr) = CliTests.Run("evaluate", "--scores", scores, "--report", dir.File("report.html"), "--quiet");

        Assert.True(code == 0, stderr);
        Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(dir.File("report.html")));
        Assert.Equal("mine", File.ReadAllText(dir.File("report.html.tmp")));
        Assert.Empty(Directory.GetFiles(dir.Path, ".*"));
    }
}
