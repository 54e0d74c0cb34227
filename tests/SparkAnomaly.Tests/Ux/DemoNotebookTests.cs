using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SparkAnomaly.Tests.Ux;

/// <summary>A fact that runs only where dotnet-repl (a headless .NET Interactive runner) is installed.</summary>
public sealed class DotnetReplFactAttribute : FactAttribute
{
    public DotnetReplFactAttribute()
    {
        if (DemoNotebookTests.DotnetRepl.Value is null && Environment.GetEnvironmentVariable("SPARKANOMALY_REQUIRE_INTEGRATION") != "1")
        {
            Skip = "dotnet-repl not found (on PATH, in ~/.dotnet/tools, or as $DOTNET_REPL); install it with 'dotnet tool install -g dotnet-repl' to run notebooks/demo.ipynb headless";
        }
    }
}

/// <summary>
/// notebooks/demo.ipynb (C#, .NET Interactive) runs headless through dotnet-repl in its quick mode,
/// loading the library from this test's build folder, and saves the demo's files.
/// </summary>
public sealed class DemoNotebookTests
{
    internal static readonly Lazy<string?> DotnetRepl = new(() =>
    {
        var candidates = new List<string?> { Environment.GetEnvironmentVariable("DOTNET_REPL") };
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, "dotnet-repl")));
        candidates.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-repl"));
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(c));
    });

    [DotnetReplFact]
    [Trait("Category", "Slow")]
    public void DemoNotebook_RunsHeadless_TrainsScoresPlotsAndSaves()
    {
        Assert.True(DotnetRepl.Value is not null, "dotnet-repl not found");
        using var dir = new TempDir();
        string bin = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        // The notebook's #r names the CLI's Debug build; point it at this test's build folder instead.
        string source = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "notebooks", "demo.ipynb"));
        string notebook = dir.File("demo.ipynb");
        File.WriteAllText(notebook, Regex.Replace(source, @"#r \\""[^\\]*SparkAnomaly\.dll\\""", $@"#r \""{Path.Combine(bin, "SparkAnomaly.dll")}\"""));
        string outDir = Path.Combine(dir.Path, "out");
        string executed = dir.File("demo-run.ipynb");

        var psi = new ProcessStartInfo(DotnetRepl.Value!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = dir.Path };
        foreach (var a in new[] { "--run", notebook, "--exit-after-run", "--output-path", executed })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["SPARKANOMALY_BIN"] = bin;
        psi.Environment["SPARKANOMALY_OUT"] = outDir;
        psi.Environment["SPARKANOMALY_NOTEBOOK_QUICK"] = "1";
        psi.Environment["DOTNET_ROLL_FORWARD"] = "Major";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(8)), "dotnet-repl did not finish in 8 minutes");

        Assert.True(p.ExitCode == 0, stdout.Result + stderr.Result);
        using var doc = JsonDocument.Parse(File.ReadAllText(executed));
        var outputs = doc.RootElement.GetProperty("cells").EnumerateArray()
            .Where(c => c.TryGetProperty("outputs", out _)).SelectMany(c => c.GetProperty("outputs").EnumerateArray()).ToList();
        Assert.DoesNotContain(outputs, o => o.GetProperty("output_type").GetString() == "error");
        string all = string.Join("\n", outputs.Select(o => o.GetRawText()));
        Assert.Equal(2, Regex.Matches(all, "data:image/png;base64,").Count);
        Assert.Contains("reloads identical: True", all);
        Assert.Contains("42,536 parameters", all);
        foreach (var f in new[] { "model.parquet", "scores.parquet", "stats.json", "training.png" })
        {
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        }
    }
}
