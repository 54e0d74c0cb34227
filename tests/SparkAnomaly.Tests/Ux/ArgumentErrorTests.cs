namespace SparkAnomaly.Tests.Ux;

/// <summary>
/// Every command refuses bad arguments the same way: exit code 1, one line on stderr that names the
/// problem and says what to do, nothing on stdout, no output directory.
/// </summary>
public sealed class ArgumentErrorTests
{
    public static TheoryData<string, string[], string> Cases => new()
    {
        // command, arguments ({out} = an output directory, {data} = a small CSV), text the message must contain
        { "demo: unknown option", new[] { "demo", "--out", "{out}", "--frobnicate" }, "--frobnicate" },
        { "demo: bad value", new[] { "demo", "--out", "{out}", "--workers", "many" }, "many" },
        { "demo: option without its value", new[] { "demo", "--out" }, "--out" },
        { "generate: missing required", new[] { "generate" }, "--out" },
        { "generate: unknown option", new[] { "generate", "--out", "{out}", "--frobnicate" }, "--frobnicate" },
        { "generate: bad value", new[] { "generate", "--out", "{out}", "--length", "long" }, "long" },
        { "train: missing required", new[] { "train", "--out", "{out}" }, "--data" },
        { "train: unknown option", new[] { "train", "--data", "{data}", "--out", "{out}", "--frobnicate" }, "--frobnicate" },
        { "train: bad value", new[] { "train", "--data", "{data}", "--out", "{out}", "--rounds", "x" }, "x" },
        { "train: value not among choices", new[] { "train", "--data", "{data}", "--out", "{out}", "--averaging", "mean" }, "averaging" },
        { "train: invalid setting", new[] { "train", "--data", "{data}", "--out", "{out}", "--window", "1" }, "window" },
        { "score: missing required", new[] { "score", "--data", "{data}", "--out", "{out}" }, "--model" },
        { "score: unknown option", new[] { "score", "--model", "m.parquet", "--data", "{data}", "--out", "{out}", "--frobnicate" }, "--frobnicate" },
        { "score: bad value", new[] { "score", "--model", "m.parquet", "--data", "{data}", "--out", "{out}", "--missing", "maybe" }, "maybe" },
        { "inspect: missing file", new[] { "inspect" }, "FILE" },
        { "inspect: unknown option", new[] { "inspect", "x.parquet", "--frobnicate" }, "--frobnicate" },
        { "inspect: bad value", new[] { "inspect", "--data", "{data}", "--workers", "many" }, "many" },
        { "inspect: zero workers", new[] { "inspect", "--data", "{data}", "--workers", "0" }, "--workers" },
        { "inspect: file and --data", new[] { "inspect", "x.parquet", "--data", "{data}" }, "not both" },
        { "inspect: --workers without --data", new[] { "inspect", "{data}", "--workers", "2" }, "--data" },
        { "inspect: file does not exist", new[] { "inspect", "/nonexistent/model.parquet" }, "does not exist" },
        { "inspect: not Parquet", new[] { "inspect", "{data}" }, "not a readable Parquet file" },
        { "inspect: a CSV data file as FILE", new[] { "inspect", "{data}" }, "inspect --data " },
        { "root: unknown command", new[] { "frobnicate" }, "frobnicate" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadArguments_ExitCode1_OneLineMessage(string name, string[] args, string mentions)
    {
        using var dir = new TempDir();
        string data = dir.File("d.csv");
        File.WriteAllText(data, "series_id,timestamp,a,b\ns,1,1,2\ns,2,2,3\ns,3,3,4\n");
        string outDir = Path.Combine(dir.Path, "out");
        var resolved = args.Select(a => a.Replace("{out}", outDir).Replace("{data}", data)).ToArray();

        var (code, stdout, stderr) = Cli.CliTests.Run(resolved);

        Assert.True(code == 1, $"{name}: exit code {code}, stderr: {stderr}");
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith("error: ", stderr);
        Assert.Contains(mentions, stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(outDir), $"{name}: no output directory after a refused run");
    }

    [Fact]
    public void InspectUnknownParquet_ExitCode1_SaysWhatItExpects()
    {
        using var dir = new TempDir();
        string file = dir.File("other.parquet");
        WriteParquet(file);

        var (code, stdout, stderr) = Cli.CliTests.Run("inspect", file);

        Assert.Equal(1, code);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.Contains("neither a SparkAnomaly model", stderr);
        Assert.Contains($"inspect --data {file}", stderr);
        Assert.Equal("", stdout);
    }

    private static void WriteParquet(string path)
    {
        using var db = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"COPY (SELECT 1 AS a, 'x' AS b) TO '{path.Replace("'", "''")}' (FORMAT PARQUET)";
        cmd.ExecuteNonQuery();
    }
}
