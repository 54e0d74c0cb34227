using System.Text.Json;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>The soak command, run short: it injects faults, survives them all, loses no bytes and says so.</summary>
public sealed class SoakTests
{
    [Fact]
    public void Soak_FewRounds_ReportsCounts_AllFaultsSurvived_ZeroBytesLost()
    {
        var (code, stdout, stderr) = SparkAnomaly.Tests.Cli.CliTests.Run("soak", "--rounds", "10", "--fault-rate", "0.3", "--seed", "3", "--json", "--quiet");

        Assert.True(code == 0, stderr);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(10, r.GetProperty("roundsRun").GetInt32());
        int injected = r.GetProperty("faultsInjected").GetInt32();
        Assert.True(injected > 0, "the schedule injected faults");
        Assert.Equal(injected, r.GetProperty("faultsSurvived").GetInt32());
        Assert.Equal(injected, r.GetProperty("faultsByKind").EnumerateObject().Sum(k => k.Value.GetInt32()));
        Assert.True(r.GetProperty("resumes").GetInt32() > 0, "at least one driver crash was resumed");
        Assert.Equal(0, r.GetProperty("bytesLost").GetInt64());
        Assert.True(r.GetProperty("bytesCompared").GetInt64() > 0);
        Assert.True(r.GetProperty("identical").GetBoolean());
    }

    [Fact]
    public void Soak_TextOutput_NamesEveryCount()
    {
        var (code, stdout, _) = SparkAnomaly.Tests.Cli.CliTests.Run("soak", "--rounds", "3", "--fault-rate", "0.5", "--seed", "5", "--quiet");

        Assert.Equal(0, code);
        foreach (var line in new[] { "rounds run: 3", "faults injected:", "faults survived:", "bytes lost: 0", "bit-identical" })
        {
            Assert.Contains(line, stdout);
        }
    }

    [Theory]
    [InlineData("--fault-rate", "1.5")]
    [InlineData("--rounds", "0")]
    [InlineData("--workers", "0")]
    public void Soak_BadOptions_ExitCode1(string option, string value)
    {
        var (code, _, stderr) = SparkAnomaly.Tests.Cli.CliTests.Run("soak", option, value, "--quiet");

        Assert.Equal(1, code);
        Assert.Single(stderr.Trim().Split('\n'));
    }
}
