using System.Diagnostics;
using SparkAnomaly.Data;
using SparkAnomaly.Model;
using SparkAnomaly.Synthetic;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>Tiny data, a tiny config file and a way to run the real CLI binary as a child process.</summary>
internal static class ReliabilityFixtures
{
    /// <summary>Model and batch settings of every reliability run: T 16, hidden 8, latent 4, about a second per run.</summary>
    public const string TinyConfigJson = "{ \"hiddenSize\": 8, \"latentSize\": 4, \"batchSizePerWorker\": 16, \"averagingFrequency\": 3, \"stride\": 2, \"seed\": 11, \"windowLength\": 16 }";

    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "SparkAnomaly.Cli.dll");

    /// <summary>Two healthy series of 200 steps × 3 channels as CSV.</summary>
    public static string WriteTinyCsv(string directory, string name = "data.csv")
    {
        var data = LorenzBearingGenerator.Generate(new LorenzBearingOptions { HealthyRuns = 2, FaultyRuns = 0, Length = 200, Channels = 3, Seed = 5 });
        string path = Path.Combine(directory, name);
        SeriesWriter.WriteCsv(data, path);
        return path;
    }

    public static string WriteTinyConfig(string directory, string? json = null)
    {
        string path = Path.Combine(directory, "tiny.json");
        File.WriteAllText(path, json ?? TinyConfigJson);
        return path;
    }

    /// <summary>The training config the CLI resolves from <see cref="TinyConfigJson"/> plus --rounds.</summary>
    public static TrainingConfig TinyConfig(int rounds) => TrainingConfig.FromJson(TinyConfigJson, "tiny.json") with { Rounds = rounds, CheckpointEvery = 1 };

    /// <summary>The completed rounds recorded in a checkpoint; it must read back whole (checksum, config) or this throws.</summary>
    public static int CheckpointRounds(string path, TrainingConfig config, int channels)
    {
        var model = config.ModelFor(channels);
        ulong hash = s_configHashes.GetOrAdd((config, channels), _ =>
        {
            using var cluster = new LocalCluster(new ShardData[config.Workers]);
            return new ParameterAveragingMaster(config, model, cluster, new long[config.Workers]).ConfigHash;
        });
        return Checkpoint.Read(path, config, model, hash).CompletedRounds;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(TrainingConfig, int), ulong> s_configHashes = new();

    public static Process StartCli(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(CliDll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment.Remove(PausePoint.PauseAtVariable);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        return Process.Start(psi)!;
    }

    /// <summary>Runs the CLI binary to completion: exit code, stdout, stderr.</summary>
    public static (int Code, string Out, string Err) RunCli(params string[] args)
    {
        using var p = StartCli(args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("sparkanomaly " + string.Join(' ', args) + " did not finish in 120 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
