using System.Diagnostics;
using System.Text.Json;

namespace SparkAnomaly.Tests.Ux;

/// <summary>
/// The CLI packs as a dotnet tool, installs from the package, and the installed 'sparkanomaly' trains:
/// TorchSharp's native library inside the package is the copy patched for Debian 12's libstdc++.
/// Slow (a Release build, a ~350 MB package), so outside the default lane.
/// </summary>
public sealed class ToolPackageTests
{
    [Fact]
    [Trait("Category", "Slow")]
    public void PackInstallRun_InstalledToolTrainsAndInspects()
    {
        using var dir = new TempDir();
        string artifacts = Path.Combine(dir.Path, "artifacts");
        string tools = Path.Combine(dir.Path, "tools");
        string project = Path.Combine(TestPaths.RepoRoot, "src", "SparkAnomaly.Cli");

        var pack = Run("dotnet", new[] { "pack", project, "-c", "Release", "-o", artifacts }, TimeSpan.FromMinutes(15));
        Assert.True(pack.Code == 0, pack.Output);
        var install = Run("dotnet", new[] { "tool", "install", "--tool-path", tools, "--add-source", artifacts, "SparkAnomaly.Cli" }, TimeSpan.FromMinutes(5));
        Assert.True(install.Code == 0, install.Output);
        string exe = Path.Combine(tools, OperatingSystem.IsWindows() ? "sparkanomaly.exe" : "sparkanomaly");

        var help = Run(exe, new[] { "--help" }, TimeSpan.FromMinutes(1));
        Assert.True(help.Code == 0, help.Output);
        Assert.Contains("inspect", help.Output);
        Assert.Contains("sparkanomaly [command] [options]", help.Output);   // the tool's command, not the assembly's name
        Assert.DoesNotContain("SparkAnomaly.Cli [", help.Output);
        string data = Path.Combine(dir.Path, "data");
        Assert.Equal(0, Run(exe, new[] { "generate", "--out", data, "--healthy", "2", "--faulty", "0", "--length", "200", "--quiet" }, TimeSpan.FromMinutes(1)).Code);
        string run = Path.Combine(dir.Path, "run");
        var train = Run(exe, new[] { "train", "--data", Path.Combine(data, "data.csv"), "--out", run, "--rounds", "2", "--window", "16", "--quiet", "--json" }, TimeSpan.FromMinutes(5));
        Assert.True(train.Code == 0, train.Output);
        var inspect = Run(exe, new[] { "inspect", Path.Combine(run, "model.parquet"), "--json" }, TimeSpan.FromMinutes(1));
        Assert.True(inspect.Code == 0, inspect.Output);
        Assert.Equal(42_536, JsonDocument.Parse(inspect.Output).RootElement.GetProperty("parameters").GetProperty("count").GetInt64());
    }

    private static (int Code, string Output) Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        // A nested 'dotnet pack' must not inherit the test host's MSBuild node settings.
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment.Remove("MSBUILD_EXE_PATH");
        psi.Environment.Remove("MSBuildSDKsPath");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            return (-1, $"{file} timed out after {timeout}");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
