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
