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
    public void Commands_IncludeInspect()
    {
        var names = Commands.Build(TextWriter.Null, TextWriter.Null).Subcommands.Select(c => c.Name).ToList();

        Assert.Contains("inspect", names);
    }
}
