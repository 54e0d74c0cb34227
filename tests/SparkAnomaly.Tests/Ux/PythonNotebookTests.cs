using System.Diagnostics;
using System.Text.Json;

namespace SparkAnomaly.Tests.Ux;

/// <summary>
/// A fact that runs only where a Python with Jupyter's nbconvert, ipykernel, pandas, matplotlib and a
/// Parquet engine (pyarrow or fastparquet) exists; elsewhere it is skipped with the reason. With
/// SPARKANOMALY_REQUIRE_INTEGRATION=1 it runs regardless, so a lane that promises Python fails loudly.
/// </summary>
public sealed class PythonNotebookFactAttribute : FactAttribute
{
    public PythonNotebookFactAttribute()
    {
        if (PythonNotebookTests.Python.Value.Path is null && Environment.GetEnvironmentVariable("SPARKANOMALY_REQUIRE_INTEGRATION") != "1")
        {
            Skip = PythonNotebookTests.Python.Value.Reason;
        }
    }
}

/// <summary>notebooks/read_outputs.ipynb runs headless against a fresh demo output: the files serve Python users.</summary>
public sealed class PythonNotebookTests
{
    private const string Probe =
        "import importlib.util as u, sys; need = ['nbconvert', 'ipykernel', 'pandas', 'matplotlib']; "
        + "miss = [m for m in need if u.find_spec(m) is None]; "
        + "miss += [] if (u.find_spec('pyarrow') or u.find_spec('fastparquet')) else ['pyarrow or fastparquet']; "
        + "print(','.join(miss))";

    /// <summary>The first Python that has everything, or null and why none does.</summary>
    internal static readonly Lazy<(string? Path, string Reason)> Python = new(FindPython);

    [PythonNotebookFact]
    public void ReadOutputsNotebook_ExecutesAgainstDemoOutput_PlotsEverySeries()
    {
        Assert.True(Python.Value.Path is not null, Python.Value.Reason);
        using var dir = new TempDir();
        string config = dir.File("small.json");
        File.WriteAllText(config, """{ "rounds": 3, "windowLength": 16 }""");
        string demo = Path.Combine(dir.Path, "demo-out");
        var run = Cli.CliTests.Run("demo", "--out", demo, "--config", config, "--quiet");
        Assert.True(run.Code == 0, run.Err);

        string notebook = Path.Combine(TestPaths.RepoRoot, "notebooks", "read_outputs.ipynb");
        var (code, output) = Execute(Python.Value.Path!, new[] { "-m", "nbconvert", "--to", "notebook", "--execute", notebook, "--output-dir", dir.Path },
            new Dictionary<string, string> { ["SPARKANOMALY_OUT"] = demo, ["MPLBACKEND"] = "Agg" }, TimeSpan.FromMinutes(5));

        Assert.True(code == 0, output);
        using var executed = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "read_outputs.ipynb")));
        var outputs = executed.RootElement.GetProperty("cells").EnumerateArray()
            .Where(c => c.TryGetProperty("outputs", out _)).SelectMany(c => c.GetProperty("outputs").EnumerateArray()).ToList();
        Assert.DoesNotContain(outputs, o => o.GetProperty("output_type").GetString() == "error");
        int images = outputs.Count(o => o.TryGetProperty("data", out var d) && d.TryGetProperty("image/png", out _));
        Assert.True(images >= 3, $"{images} images");
        string text = string.Join("\n", outputs.Where(o => o.TryGetProperty("text", out _)).Select(o => string.Concat(o.GetProperty("text").EnumerateArray().Select(t => t.GetString()))));
        Assert.Contains("42,536 parameters", text);
    }

    private static (string? Path, string Reason) FindPython()
    {
        var reasons = new List<string>();
        foreach (var python in new[] { "/usr/bin/python3", "python3" }.Distinct())
        {
            try
            {
                var (code, output) = Execute(python, new[] { "-c", Probe }, new Dictionary<string, string>(), TimeSpan.FromSeconds(60));
                string missing = output.Trim();
                if (code == 0 && missing.Length == 0)
                {
                    return (python, "");
                }
                reasons.Add(code == 0 ? $"{python} lacks {missing.Replace(",", ", ")}" : $"{python} failed ({missing})");
            }
            catch (System.ComponentModel.Win32Exception)
            {
                reasons.Add($"{python} not found");
            }
        }
        return (null, "no Python to run notebooks/read_outputs.ipynb: " + string.Join("; ", reasons)
            + ". Install python3-pandas python3-matplotlib jupyter-nbconvert python3-ipykernel and a Parquet engine (pip install pyarrow; Debian 12 packages none).");
    }

    private static (int Code, string Output) Execute(string file, IEnumerable<string> args, IDictionary<string, string> env, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
