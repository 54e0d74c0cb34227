using SparkAnomaly.Cli;

namespace SparkAnomaly.Tests.Ux;

/// <summary>--help works on every command, exits 0, and shows at least one example.</summary>
public sealed class HelpTests
{
    public static TheoryData<string> CommandNames()
    {
        var data = new TheoryData<string> { "" };
        foreach (var c in Commands.Build(TextWriter.Null, TextWriter.Null).Subcommands)
        {
            data.Add(c.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CommandNames))]
    public void Help_ExitCode0_ShowsAnExample(string command)
    {
        var args = command.Length == 0 ? new[] { "--help" } : new[] { command, "--help" };

        var (code, stdout, stderr) = Cli.CliTests.Run(args);

        Assert.True(code == 0, stderr);
        Assert.Contains("Usage:", stdout);
        Assert.Contains("Example", stdout);
        Assert.Contains("sparkanomaly " + command, stdout);
    }

    /// <summary>
    /// System.CommandLine's RootCommand names itself after the entry assembly: 'SparkAnomaly.Cli' from the dll or apphost
    /// (and from the installed tool, whose command is sparkanomaly), 'testhost' in-process. Usage lines and error hints
    /// say 'sparkanomaly' however the CLI is launched: in-process, 'dotnet SparkAnomaly.Cli.dll', and the apphost.
    /// </summary>
    [Theory]
    [InlineData("in-process")]
    [InlineData("dll")]
    [InlineData("apphost")]
    public void UsageLines_SaySparkanomaly_HoweverLaunched(string how)
    {
        (int Code, string Out, string Err) Launch(params string[] args)
        {
            if (how == "in-process")
            {
                return Cli.CliTests.Run(args);
            }
            string apphost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "SparkAnomaly.Cli.exe" : "SparkAnomaly.Cli");
            var psi = how == "dll" ? new System.Diagnostics.ProcessStartInfo("dotnet") { ArgumentList = { Reliability.ReliabilityFixtures.CliDll } } : new System.Diagnostics.ProcessStartInfo(apphost);
            psi.RedirectStandardOutput = psi.RedirectStandardError = true;
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }
            using var p = System.Diagnostics.Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)), "the CLI did not exit");
            return (p.ExitCode, stdout.Result, stderr.Result);
        }

        var root = Launch("--help");
        var train = Launch("train", "--help");
        var skab = Launch("benchmark", "skab", "--help");
        var badOption = Launch("benchmark", "skab", "--bogus");
        var noCommand = Launch();
        var version = Launch("--version");

        Assert.True(root.Code == 0, root.Err);
        Assert.Contains("Usage:\n  sparkanomaly [command] [options]", root.Out.ReplaceLineEndings("\n"));
        Assert.Contains("Usage:\n  sparkanomaly train [options]", train.Out.ReplaceLineEndings("\n"));
        Assert.Contains("Usage:\n  sparkanomaly benchmark skab [options]", skab.Out.ReplaceLineEndings("\n"));
        foreach (var output in new[] { root.Out, train.Out, skab.Out, badOption.Err, noCommand.Err })
        {
            Assert.DoesNotContain("SparkAnomaly.Cli", output);
            Assert.DoesNotContain("testhost", output);
        }
        Assert.Equal(1, badOption.Code);
        Assert.Contains("Run 'sparkanomaly benchmark skab --help' for usage.", badOption.Err);
        Assert.Equal(1, noCommand.Code);
        Assert.Contains("Run 'sparkanomaly --help' for usage.", noCommand.Err);
        Assert.True(version.Code == 0, version.Err);
        if (how != "in-process")   // in-process, the version is the test host's
        {
            Assert.StartsWith(SparkAnomaly.Detector.LibraryVersion, version.Out.Trim());
        }
    }

    [Fact]
    public void DemoHelp_StatesTheDemosOwnRoundsDefault_AndEveryFileItWrites()
    {
        var (code, stdout, _) = Cli.CliTests.Run(["demo", "--help"]);

        Assert.Equal(0, code);
        // The demo trains 60 rounds, not train's 40.
        Assert.Contains("Averaging rounds (default 60 for the demo).", stdout);
        Assert.DoesNotContain("(default 40)", stdout);
        Assert.Contains("training.png", stdout);
    }

    [Fact]
    public void BenchmarkSkabHelp_CrossFitFolds_SaysWhich_ValueTurnsItOff()
    {
        var (code, stdout, _) = Cli.CliTests.Run(["benchmark", "skab", "--help"]);

        Assert.Equal(0, code);
        Assert.Contains("(default 3; 1: the final model's held-out rows only, no cross-fitting)", stdout.ReplaceLineEndings(" "));
    }

    [Fact]
    public void Commands_IncludeInspect()
    {
        var names = Commands.Build(TextWriter.Null, TextWriter.Null).Subcommands.Select(c => c.Name).ToList();

        Assert.Contains("inspect", names);
    }
}
