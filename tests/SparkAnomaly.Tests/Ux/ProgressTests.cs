using System.Text.RegularExpressions;
using SparkAnomaly.Cli;
using SparkAnomaly.Training;
using Spectre.Console.Testing;

namespace SparkAnomaly.Tests.Ux;

/// <summary>
/// Progress goes to stderr: one plain line per round when stderr is not a terminal (pipelines, CI
/// logs), a live Spectre.Console bar when it is, nothing with --quiet; stdout carries only the result.
/// </summary>
[Collection(UxRunCollection.Name)]
public sealed class ProgressTests
{
    private static readonly Regex s_roundLine = new(@"^round (\d+): loss \d+\.\d{3} \(recon \d+\.\d{3}, kl \d+\.\d{3}, β \d\.\d{2}\), \d+ windows/s, fit \d+ ms, overhead \d+\.\d %$");
    private readonly UxRunFixture _run;

    public ProgressTests(UxRunFixture run)
    {
        _run = run;
    }

    [Fact]
    public void Train_RedirectedStderr_OnePlainLinePerRound_StdoutOnlyTheSummary()
    {
        // Given a train run whose stderr is not a terminal (a StringWriter)
        string outDir = _run.Scratch("progress-plain");

        // When it runs 3 rounds
        var (code, stdout, stderr) = Cli.CliTests.Run("train", "--data", _run.DataCsv, "--out", outDir, "--rounds", "3", "--window", "16");

        // Then stderr has one plain line per round, numbered 1..3, and no escape sequences
        Assert.True(code == 0, stderr);
        var rounds = stderr.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("round ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, rounds.Count);
        for (int i = 0; i < rounds.Count; i++)
        {
            var m = s_roundLine.Match(rounds[i]);
            Assert.True(m.Success, rounds[i]);
            Assert.Equal(i + 1, int.Parse(m.Groups[1].Value));
        }
        Assert.DoesNotContain("\u001b[", stderr);
        Assert.StartsWith("training: 2 workers", stderr);
        Assert.DoesNotContain("round 1:", stdout);
        Assert.Contains("final loss", stdout);
    }

    [Fact]
    public void Train_Quiet_NothingOnStderr()
    {
        var (code, _, stderr) = Cli.CliTests.Run("train", "--data", _run.DataCsv, "--out", _run.Scratch("progress-quiet"), "--rounds", "2", "--window", "16", "--quiet");

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
    }

    [Fact]
    public void WithProgress_InteractiveConsole_ShowsLiveBarWithRoundLossAndThroughput()
    {
        // Given an interactive console and a stderr writer that must stay unused
        var console = new TestConsole().Interactive().Width(120);
        console.EmitAnsiSequences = true;
        var stderr = new StringWriter();
        var ui = new Reporter(TextWriter.Null, stderr, quiet: false, json: false, live: console);

        // When training reports three rounds
        ui.WithProgress(new TrainingConfig { Rounds = 3 }, onRound =>
        {
            for (int r = 0; r < 3; r++)
            {
                onRound(Round(r, loss: 10.0 - r));
            }
            return null!;
        });

        // Then the live display shows the last round, its loss and throughput, and completes at 100 %
        string output = console.Output;
        Assert.Contains("round 3", output);
        Assert.Contains("loss 8.00", output);
        Assert.Contains("win/s", output);
        Assert.Contains("100%", output);
        Assert.Equal("", stderr.ToString());
    }

    [Fact]
    public void WithProgress_NonInteractive_PlainLines()
    {
        // Given a reporter without a terminal
        var stderr = new StringWriter();
        var ui = new Reporter(TextWriter.Null, stderr, quiet: false, json: false);

        // When two rounds are reported
        ui.WithProgress(new TrainingConfig { Rounds = 2 }, onRound =>
        {
            onRound(Round(0, 5));
            onRound(Round(1, 4));
            return null!;
        });

        // Then there is exactly one plain line per round
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches(s_roundLine, lines[0].TrimEnd('\r'));
        Assert.StartsWith("round 2: loss 4.000", lines[1]);
    }

    internal static RoundStats Round(int r, double loss) => new()
    {
        Round = r, Loss = loss, LastLoss = loss, Reconstruction = loss * 0.9, Kl = loss * 0.1, KlWeight = 0.5, Windows = 1000,
        BroadcastMs = 3, FitMs = 200 + 10 * r, CollectMs = 2, AverageMs = 1, CheckpointMs = r == 2 ? 20 : 0,
        WorkerWindowsPerSecond = new[] { 2500.0, 2400.0 }, WorkerFitMs = new[] { 200.0, 190.0 }, Retries = 0, DuplicatesIgnored = 0,
    };
}
