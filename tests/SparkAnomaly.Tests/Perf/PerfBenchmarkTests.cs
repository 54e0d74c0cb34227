using System.Text.Json;
using SparkAnomaly.Benchmarks;

namespace SparkAnomaly.Tests.Perf;

/// <summary>
/// Tests that change process-wide libtorch settings (intra-op threads, which reach MKL's global thread
/// count) run alone, after the parallel ones, so bit-exact comparisons elsewhere never see them change.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideTorchSettingsCollection
{
    public const string Name = "changes process-wide torch settings";
}

/// <summary>
/// The issue 8 benchmark in its quick mode, in process: its JSON must be well-formed and carry every
/// section the README table and the cost model are built from. No timing is asserted.
/// </summary>
[Collection(ProcessWideTorchSettingsCollection.Name)]
public sealed class PerfBenchmarkTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"sparkanomaly-perf-{Guid.NewGuid():N}");

    [Fact]
    public void QuickRun_WritesWellFormedJsonAndMarkdown_WithTheExpectedKeys()
    {
        // Given the quick mode, one repetition, no PyTorch child process and a small data file
        var options = new BenchOptions { Quick = true, OutDir = _dir, Peer = false, Repetitions = 1, DataRows = 20_000 };

        // When it runs
        PerfBenchmark.Run(options, TextWriter.Null);

        // Then perf.json parses and holds every section
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "perf.json")));
        var root = doc.RootElement;
        Assert.Equal("sparkanomaly-perf", root.GetProperty("benchmark").GetString());
        Assert.Equal("quick", root.GetProperty("mode").GetString());
        foreach (var key in new[] { "cpu", "logical_cpus", "dotnet", "torchsharp", "libtorch" })
        {
            Assert.True(root.GetProperty("machine").TryGetProperty(key, out _), $"machine.{key}");
        }
        Assert.Equal(15_151_104, root.GetProperty("workload").GetProperty("train_flops_per_window").GetInt64());

        var results = root.GetProperty("results").EnumerateArray().ToList();
        var names = results.Select(r => r.GetProperty("name").GetString()).ToList();
        Assert.Contains("raw train 1t", names);
        Assert.Contains("framework train N=1×1t af=5", names);
        Assert.Contains("framework train N=1×1t af=1", names);
        Assert.Contains("framework train N=2×1t af=5", names);
        Assert.Contains("framework train N=2×1t af=1", names);
        Assert.Contains("framework train N=1×2t af=5", names);
        Assert.Contains("raw score 1t", names);
        Assert.Contains("framework score 1t", names);
        foreach (var r in results)
        {
            foreach (var key in new[] { "windows_per_s", "ratio_to_raw", "gflops", "share_of_matmul", "peak_rss_bytes" })
            {
                Assert.True(r.TryGetProperty(key, out _), $"{r.GetProperty("name")}: {key}");
            }
            Assert.True(r.GetProperty("windows_per_s").GetDouble() > 0);
            if (r.GetProperty("framework").GetString() == "framework" && r.GetProperty("kind").GetString() == "train")
            {
                double share = r.GetProperty("round_overhead_share").GetDouble();
                Assert.InRange(share, 0, 1);
                Assert.True(r.GetProperty("rounds").GetInt32() > 0);
            }
        }
        Assert.True(root.GetProperty("matmul").GetProperty("threads_1").GetProperty("gflops").GetDouble() > 0);
        Assert.True(root.GetProperty("pytorch").TryGetProperty("skipped", out _));
        Assert.Equal(6, root.GetProperty("targets").GetArrayLength());
        foreach (var t in root.GetProperty("targets").EnumerateArray())
        {
            Assert.True(t.TryGetProperty("measured", out _) && t.TryGetProperty("goal", out _) && t.TryGetProperty("met", out _));
        }

        var cost = root.GetProperty("cost_model");
        Assert.Equal(3 * 3 * 9, cost.GetProperty("grid").GetArrayLength());
        Assert.Equal(3 * 3, cost.GetProperty("limits").GetArrayLength());
        Assert.True(cost.GetProperty("seconds_per_window_c").GetDouble() > 0);
        Assert.True(cost.GetProperty("request_bytes_Q").GetInt64() > 3 * 4 * 42_536);

        var data = root.GetProperty("data");
        Assert.Equal(20_000, data.GetProperty("rows").GetInt64());
        Assert.True(data.GetProperty("values_per_s").GetDouble() > 0);

        // And the Markdown report has the table, the targets and the cost model
        var md = File.ReadAllText(Path.Combine(_dir, "perf.md"));
        Assert.Contains("| configuration |", md);
        Assert.Contains("| target |", md);
        Assert.Contains("## Cluster cost model", md);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
