using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SparkAnomaly.Data;
using SparkAnomaly.Model;
using SparkAnomaly.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SparkAnomaly.Benchmarks;

/// <summary>What to run.</summary>
internal sealed record BenchOptions
{
    /// <summary>Under a minute: fewer steps and repetitions, a 1024² matmul, the peer's quick mode.</summary>
    public bool Quick { get; init; }

    /// <summary>Directory for perf.json and perf.md (created).</summary>
    public string OutDir { get; init; } = "perf-out";

    /// <summary>Run the PyTorch peer where /usr/bin/python3 can import torch.</summary>
    public bool Peer { get; init; } = true;

    public string? PeerScript { get; init; }

    /// <summary>Run issue 6's data benchmark (rows of the generated Parquet file; 0 = skip).</summary>
    public long DataRows { get; init; } = -1;

    /// <summary>Overrides the number of interleaved repetitions.</summary>
    public int? Repetitions { get; init; }

    /// <summary>Task-launch latency added to the cost model's fixed round cost (e.g. Spark scheduling).</summary>
    public double TaskLatencyMs { get; init; }
}

/// <summary>
/// Issue 8's side-by-side benchmark. Every configuration lives in this one process and is run once
/// per repetition, in a fixed interleaved order, so that load on a shared machine hits all of them
/// alike; ratios are taken within a repetition and their median reported.
/// </summary>
internal static class PerfBenchmark
{
    public const int ScoreBatch = SparkAnomaly.Scoring.Scorer.DefaultBatchSize;

    public static JsonObject Run(BenchOptions o, TextWriter log)
    {
        var total = Stopwatch.StartNew();
        TorchRuntime.EnsureLoaded();
        Directory.CreateDirectory(o.OutDir);
        int steps = o.Quick ? 10 : 50;
        int reps = o.Repetitions ?? (o.Quick ? 3 : 7);
        int mmN = o.Quick ? 1024 : 2048;
        int mmReps = o.Quick ? 2 : 3;
        int scoreWindows = o.Quick ? 1024 : 8192;
        var machine = Machine.Describe();
        log.WriteLine($"perf: {(o.Quick ? "quick" : "full")} run, {reps} interleaved repetitions, {steps} steps of {Workload.B} windows per training run; {machine["cpu"]}, {machine["logical_cpus"]} CPUs, load {string.Join(" ", (double[])machine["load_average_start"])}");

        // ---- data: the peer's 2048 windows, as 2048 series of one window each for the framework ----
        using var data = Workload.MakeData(Workload.Batches * Workload.B, Workload.Seed);
        using var batches = data.view(Workload.Batches, Workload.B, Workload.T, Workload.F);
        var flat = data.data<float>().ToArray();
        var windowSeries = new List<Series>();
        for (int w = 0; w < Workload.Batches * Workload.B; w++)
        {
            windowSeries.Add(new Series($"w{w:D4}", Enumerable.Range(0, Workload.T).Select(i => (long)i).ToArray(),
                flat.AsSpan(w * Workload.T * Workload.F, Workload.T * Workload.F).ToArray(), Workload.F));
        }
        // scoring: one long series built from consecutive windows
        int scoreRows = scoreWindows + Workload.T - 1;
        var scoreValues = new float[scoreRows * Workload.F];
        for (int i = 0; i < scoreValues.Length; i++)
        {
            scoreValues[i] = flat[i % flat.Length];
        }
        var scoreSeries = new Series("score", Enumerable.Range(0, scoreRows).Select(i => (long)i).ToArray(), scoreValues, Workload.F);

        var cases = new List<BenchCase>
        {
            Cases.Matmul(mmN, 1, mmReps),
            Cases.RawTrain(batches, 1, steps),
            Cases.FrameworkTrain(windowSeries, 1, 1, 5, steps),
            Cases.FrameworkTrain(windowSeries, 1, 1, 1, steps),
            Cases.FrameworkTrain(windowSeries, 2, 1, 5, steps),
            Cases.FrameworkTrain(windowSeries, 2, 1, 1, steps),
            Cases.RawTrain(batches, 2, steps),
            Cases.FrameworkTrain(windowSeries, 1, 2, 5, steps),
            Cases.RawScore(scoreSeries, 1, ScoreBatch),
            Cases.FrameworkScore(scoreSeries, 1, ScoreBatch),
            Cases.RawScore(scoreSeries, 2, ScoreBatch),
            Cases.FrameworkScore(scoreSeries, 2, ScoreBatch),
            Cases.Matmul(mmN, 2, mmReps),
        };
        string? peerNote = null;
        string why = "";
        var peer = o.Peer ? PeerRunner.TryCreate(o.PeerScript, out why) : null;
        if (o.Peer && peer is null)
        {
            peerNote = why;
            log.WriteLine(why);
        }
        else if (!o.Peer)
        {
            peerNote = "PyTorch peer not run (--no-peer).";
        }
        var peerRuns = new Dictionary<int, List<JsonObject>> { [1] = new(), [2] = new() };
        var loads = new List<double>();

        try
        {
            // warm-up: JIT, replica pool, oneDNN primitive caches
            foreach (var c in cases)
            {
                c.RunOnce();
                if (c.Kind == "train" && !o.Quick)
                {
                    c.RunOnce();
                }
            }
            for (int r = 0; r < reps; r++)
            {
                foreach (var c in cases)
                {
                    GC.Collect();
                    bool resetOk = Machine.ResetPeakRss();
                    long faults0 = Machine.MinorFaults();
                    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    var res = c.RunOnce();
                    double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                    long faults = Machine.MinorFaults() - faults0;
                    c.CpuRates.Add(res.Units / cpu);
                    if (resetOk)
                    {
                        c.PeakRssBytes = Math.Max(c.PeakRssBytes, Machine.PeakRssBytes());
                    }
                    c.Rates.Add(res.Units / res.Seconds);
                    c.MinorFaultsPerUnit = c.Kind == "matmul" ? double.NaN : faults / res.Units;
                    if (res.Rounds is not null)
                    {
                        c.Rounds.AddRange(res.Rounds);
                    }
                }
                // the peer is a separate process: once per thread count in a quick run, twice (first and last repetition) in a full one
                // … and never past 4 minutes in, so a loaded machine cannot push the run over 10 minutes
                if (peer is not null && (r == 0 || (!o.Quick && r == reps - 1 && total.Elapsed.TotalMinutes < 4)))
                {
                    foreach (int th in new[] { 1, 2 })
                    {
                        peerRuns[th].Add(peer.Run(th, o.Quick));
                    }
                }
                loads.Add(Machine.LoadAverage().FirstOrDefault());
                log.WriteLine($"perf: repetition {r + 1}/{reps} done ({total.Elapsed.TotalSeconds:F0} s)");
            }
            var result = Report(o, machine, cases, peerRuns, peer, peerNote, steps, reps, mmN);
            result["data"] = o.DataRows != 0 ? DataBenchmark.Run(o.DataRows > 0 ? o.DataRows : o.Quick ? 1_000_000 : 10_000_000, o.OutDir, log) : null;
            result["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1);
            result["load_average_1min_per_repetition"] = new JsonArray(loads.Select(v => (JsonNode)v).ToArray());
            result["malloc_tuning"] = NativeAllocator.Tuned;
            result["load_average_end"] = new JsonArray(Machine.LoadAverage().Select(v => (JsonNode)v).ToArray());
            result["process_peak_rss_bytes"] = Machine.PeakRssBytes();
            var json = result.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            File.WriteAllText(Path.Combine(o.OutDir, "perf.json"), json);
            var md = Markdown(result);
            File.WriteAllText(Path.Combine(o.OutDir, "perf.md"), md);
            return result;
        }
        finally
        {
            foreach (var c in cases)
            {
                c.Dispose();
            }
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var s = values.Where(double.IsFinite).OrderBy(v => v).ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    /// <summary>Rounded, or null where not finite (JSON has no NaN).</summary>
    private static double? R(double v, int digits = 3) => double.IsFinite(v) ? Math.Round(v, digits) : null;

    private static string F(JsonNode? n, string format) => n is null ? "–" : n.GetValue<double>().ToString(format, CultureInfo.InvariantCulture);

    private static JsonObject Report(BenchOptions o, Dictionary<string, object> machine, List<BenchCase> cases,
        Dictionary<int, List<JsonObject>> peerRuns, PeerRunner? peer, string? peerNote, int steps, int reps, int mmN)
    {
        BenchCase Find(string framework, string kind, int workers, int threads, int af = 0) =>
            cases.First(c => c.Framework == framework && c.Kind == kind && c.Workers == workers && c.Threads == threads && c.AveragingFrequency == af);
        var mm = new Dictionary<int, BenchCase> { [1] = Find("raw", "matmul", 1, 1), [2] = Find("raw", "matmul", 1, 2) };
        // ratio of two cases taken within each repetition, then the median
        double Ratio(BenchCase a, BenchCase b) => Median(a.Rates.Zip(b.Rates, (x, y) => x / y));

        var rows = new JsonArray();
        foreach (var c in cases.Where(c => c.Kind != "matmul"))
        {
            double rate = Median(c.Rates);
            long flopsPerWindow = c.Kind == "train" ? Workload.TrainFlopsPerWindow : Workload.ScoreFlopsPerWindow;
            double gflops = rate * flopsPerWindow / 1e9;
            int cores = c.Workers * c.Threads;
            var raw = Find("raw", c.Kind, 1, c.Kind == "train" && c.Workers > 1 ? 1 : c.Threads);
            var row = new JsonObject
            {
                ["name"] = c.Name,
                ["kind"] = c.Kind,
                ["framework"] = c.Framework,
                ["workers"] = c.Workers,
                ["threads_per_worker"] = c.Threads,
                ["averaging_frequency"] = c.AveragingFrequency == 0 ? null : c.AveragingFrequency,
                ["windows_per_s"] = R(rate, 1),
                ["windows_per_s_min"] = R(c.Rates.Min(), 1),
                ["windows_per_s_max"] = R(c.Rates.Max(), 1),
                // work per window regardless of how much CPU the machine's other load left us
                ["windows_per_cpu_s"] = R(Median(c.CpuRates), 1),
                ["ratio_to_raw"] = R(Ratio(c, raw)),
                ["ratio_to_raw_of"] = raw.Name,
                ["gflops"] = R(gflops, 2),
                ["share_of_matmul"] = R(Median(c.Rates.Zip(mm[Math.Min(2, cores)].Rates, (x, m) => x * flopsPerWindow / m))),
                ["peak_rss_bytes"] = c.PeakRssBytes,
                ["minor_faults_per_window"] = R(c.MinorFaultsPerUnit, 2),
            };
            if (c.Rounds.Count > 0)
            {
                double total = c.Rounds.Sum(s => s.TotalMs);
                row["rounds"] = c.Rounds.Count;
                row["round_ms_median"] = R(Median(c.Rounds.Select(s => s.TotalMs)), 3);
                // broadcast + collect + average (+ checkpoint, none here) over round time, as RoundStats.OverheadShare
                row["round_overhead_share"] = R(c.Rounds.Sum(s => s.TotalMs - s.FitMs) / total, 4);
                // … plus what the workers spend outside their fit loop (payload decode/encode, hand-off)
                row["round_overhead_share_incl_worker"] = R(c.Rounds.Sum(s => s.TotalMs - s.WorkerFitMs.Max()) / total, 4);
                row["broadcast_ms_median"] = R(Median(c.Rounds.Select(s => s.BroadcastMs)), 3);
                row["collect_ms_median"] = R(Median(c.Rounds.Select(s => s.CollectMs)), 3);
                row["average_ms_median"] = R(Median(c.Rounds.Select(s => s.AverageMs)), 3);
                row["worker_fit_ms_median"] = R(Median(c.Rounds.Select(s => s.WorkerFitMs.Max())), 3);
            }
            rows.Add(row);
        }

        var matmul = new JsonObject();
        foreach (var (th, c) in mm)
        {
            matmul[$"threads_{th}"] = new JsonObject
            {
                ["n"] = mmN,
                ["gflops"] = R(Median(c.Rates) / 1e9, 1),
                ["gflops_min"] = R(c.Rates.Min() / 1e9, 1),
                ["gflops_max"] = R(c.Rates.Max() / 1e9, 1),
            };
        }

        JsonObject? pytorch = null;
        var raw1 = Find("raw", "train", 1, 1);
        var fw1 = Find("framework", "train", 1, 1, 5);
        if (peer is not null)
        {
            pytorch = new JsonObject { ["script"] = peer.Script, ["ld_library_path"] = peer.Blas };
            foreach (var (th, allRuns) in peerRuns)
            {
                var runs = allRuns;
                if (runs.Count == 0)
                {
                    continue;
                }
                var errors = runs.Where(j => j["error"] is not null).Select(j => j["error"]!.ToString()).ToList();
                runs = runs.Where(j => j["error"] is null).ToList();
                if (runs.Count == 0)
                {
                    pytorch[$"threads_{th}"] = new JsonObject { ["errors"] = new JsonArray(errors.Select(e => (JsonNode)e).ToArray()) };
                    continue;
                }
                double Get(string k) => Median(runs.Select(j => j[k]?.GetValue<double>() ?? double.NaN));
                pytorch[$"threads_{th}"] = new JsonObject
                {
                    ["processes"] = runs.Count,
                    ["failed_processes"] = errors.Count,
                    ["train_windows_per_s"] = R(Get("train_windows_per_s"), 1),
                    ["score_windows_per_s"] = R(Get("score_windows_per_s"), 1),
                    ["matmul_gflops"] = R(Get("matmul_gflops"), 1),
                    ["torch_version"] = runs[0]["torch_version"]?.DeepClone(),
                    ["blas_libs"] = runs[0]["blas_libs"]?.DeepClone(),
                };
            }
        }
        else
        {
            pytorch = new JsonObject { ["skipped"] = peerNote };
        }

        double Rate(BenchCase c) => Median(c.Rates);
        var n1 = fw1;
        var n2 = Find("framework", "train", 2, 1, 5);
        double? torchT1 = pytorch["threads_1"]?["train_windows_per_s"]?.GetValue<double>();
        var targets = new JsonArray
        {
            Target("framework N=1 ÷ raw, training (1 thread)", Ratio(n1, raw1), 0.95),
            Target("framework ÷ raw, scoring (1 thread)", Ratio(Find("framework", "score", 1, 1), Find("raw", "score", 1, 1)), 0.95),
            Target("framework N=2×1 thread ÷ N=1×1 thread, training", Ratio(n2, n1), 1.7),
            Target("round overhead share, N=1, averagingFrequency 5 (≤)", n1.Rounds.Sum(s => s.TotalMs - s.FitMs) / n1.Rounds.Sum(s => s.TotalMs), 0.05, lessIsBetter: true),
            Target("round overhead share, N=2, averagingFrequency 5 (≤)", n2.Rounds.Sum(s => s.TotalMs - s.FitMs) / n2.Rounds.Sum(s => s.TotalMs), 0.05, lessIsBetter: true),
            Target("framework N=1 ÷ PyTorch+OpenBLAS, training (1 thread)", torchT1 is double p ? Rate(n1) / p : double.NaN, 1.5),
        };

        double CpuRate(BenchCase c) => Median(c.CpuRates);
        var diagnostics = new JsonObject
        {
            // CPU time per window is what a loaded machine cannot distort: equal values mean the
            // configuration does no extra work, so on free cores it runs at the wall-clock ideal.
            ["framework_n1_over_raw_cpu_efficiency"] = R(CpuRate(n1) / CpuRate(raw1), 4),
            ["framework_n2_over_n1_cpu_efficiency"] = R(CpuRate(n2) / CpuRate(n1), 4),
            ["framework_score_over_raw_cpu_efficiency"] = R(CpuRate(Find("framework", "score", 1, 1)) / CpuRate(Find("raw", "score", 1, 1)), 4),
            ["raw_train_1t_gflops_per_cpu_s"] = R(CpuRate(raw1) * Workload.TrainFlopsPerWindow / 1e9, 2),
            ["raw_train_1t_share_of_matmul_per_cpu_s"] = R(CpuRate(raw1) * Workload.TrainFlopsPerWindow / Median(mm[1].CpuRates), 3),
        };

        // cost model: compute per window from the N=1 workers' own fit time; fixed and per-worker costs from the rounds
        var cost = BuildCostModel(n1, n2, o.TaskLatencyMs / 1000);

        return new JsonObject
        {
            ["benchmark"] = "sparkanomaly-perf",
            ["version"] = 1,
            ["mode"] = o.Quick ? "quick" : "full",
            ["utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["command"] = Environment.CommandLine,
            ["machine"] = JsonSerializer.SerializeToNode(machine),
            ["workload"] = new JsonObject
            {
                ["batch"] = Workload.B, ["window"] = Workload.T, ["channels"] = Workload.F, ["hidden"] = Workload.H, ["latent"] = Workload.Z,
                ["train_flops_per_window"] = Workload.TrainFlopsPerWindow, ["score_flops_per_window"] = Workload.ScoreFlopsPerWindow,
                ["steps_per_run"] = steps, ["repetitions"] = reps, ["score_batch"] = ScoreBatch,
            },
            ["results"] = rows,
            ["matmul"] = matmul,
            ["pytorch"] = pytorch,
            ["targets"] = targets,
            ["diagnostics"] = diagnostics,
            ["cost_model"] = cost.ToJson(new[] { 1, 5, 20 }),
            ["cost_model_markdown"] = cost.ToMarkdown(new[] { 1, 5, 20 }),
        };
    }

    private static JsonObject Target(string what, double measured, double target, bool lessIsBetter = false) => new()
    {
        ["target"] = what,
        ["measured"] = R(measured, 4),
        ["goal"] = target,
        ["met"] = double.IsFinite(measured) ? (lessIsBetter ? measured <= target : measured >= target) : (bool?)null,
    };

    private static CostModel BuildCostModel(BenchCase n1, BenchCase n2, double latency)
    {
        int parameters = new Replica(new ModelConfig(Workload.F, Workload.T, Workload.H, Workload.Z)).ParameterCount;
        var model = new ModelConfig(Workload.F, Workload.T, Workload.H, Workload.Z);
        var p = new float[parameters];
        var request = WorkerPayload.Encode(new WorkerRequest
        {
            ConfigHash = 0, Round = 0, Worker = 0, Workers = 1, Seed = 0, BatchCursor = 0, BatchSize = Workload.B, Steps = 5,
            DropPartialBatch = false, KlWeight = 1, Optimizer = OptimizerKind.Adam, LearningRate = 1e-3, GradientClip = 0,
            Model = model, Threads = 1, Device = "cpu", ShardKey = "shard-0", Parameters = p, Updater = UpdaterState.Zero(parameters),
        });
        var result = WorkerPayload.Encode(new WorkerResult
        {
            ConfigHash = 0, Round = 0, Worker = 0, WindowsSeen = 320, Batches = 5, BatchCursor = 5, MeanLoss = 0, LastLoss = 0,
            MeanReconstruction = 0, MeanKl = 0, DecodeMs = 0, FitMs = 0, EncodeMs = 0, Parameters = p, Updater = UpdaterState.Zero(parameters),
        });
        // c: worker fit time per window (includes its parameter load, as every round pays it)
        double c = Median(n1.Rounds.Select(s => s.WorkerFitMs[0] / 1000 / s.Windows));
        // F: what a round costs beyond the worker's fit and the driver's own work (payload decode/encode on the worker, hand-off)
        double fixedWorker = Median(n1.Rounds.Select(s => (s.FitMs - s.WorkerFitMs.Max()) / 1000));
        // D: driver CPU (broadcast + collect + average) per worker, from the two-worker rounds
        double driver = Median(n2.Rounds.Select(s => (s.BroadcastMs + s.CollectMs + s.AverageMs) / 1000 / 2));
        return new CostModel(c, Workload.B, Math.Max(0, fixedWorker), driver, request.Length, result.Length, latency);
    }

    public static string Markdown(JsonObject r)
    {
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        var m = r["machine"]!;
        sb.AppendLine(ci, $"# SparkAnomaly performance ({r["mode"]}, {r["utc"]})");
        sb.AppendLine();
        sb.AppendLine(ci, $"Command: `{r["command"]}`  ");
        sb.AppendLine(ci, $"Machine: {m["cpu"]}, {m["logical_cpus"]} logical CPUs, {m["memory_gib"]} GiB, {m["os"]}; {m["dotnet"]}, TorchSharp {m["torchsharp"]}, libtorch {m["libtorch"]}. " +
            $"Load average at start {string.Join(" ", m["load_average_start"]!.AsArray().Select(v => v!.ToString()))}, at end {string.Join(" ", r["load_average_end"]?.AsArray().Select(v => v!.ToString()) ?? Array.Empty<string>())}.  ");
        var w = r["workload"]!;
        sb.AppendLine(ci, $"Workload: batch {w["batch"]}, T {w["window"]}, F {w["channels"]}, hidden {w["hidden"]}, latent {w["latent"]}; {w["steps_per_run"]} steps per training run, {w["repetitions"]} interleaved repetitions (median; ratios are medians of per-repetition ratios); scoring in batches of {w["score_batch"]} stride-1 windows of one series.");
        sb.AppendLine();
        sb.AppendLine("| configuration | windows/s (min..max) | ÷ raw | GFLOP/s | share of matmul | windows per CPU-s | round overhead (driver / incl. worker) | peak RSS MiB |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in r["results"]!.AsArray())
        {
            string overhead = row!["round_overhead_share"] is JsonNode ov
                ? $"{F(ov, "P1")} / {F(row["round_overhead_share_incl_worker"], "P1")}" : "–";
            sb.AppendLine(ci, $"| {row["name"]} | {F(row["windows_per_s"], "F0")} ({F(row["windows_per_s_min"], "F0")}..{F(row["windows_per_s_max"], "F0")}) | " +
                $"{F(row["ratio_to_raw"], "F3")} | {F(row["gflops"], "F1")} | {F(row["share_of_matmul"], "P0")} | {F(row["windows_per_cpu_s"], "F0")} | {overhead} | {row["peak_rss_bytes"]!.GetValue<long>() / 1048576.0:F0} |");
        }
        foreach (var (k, v) in r["matmul"]!.AsObject())
        {
            sb.AppendLine(ci, $"| matmul {v!["n"]}² {k.Replace("threads_", "")}t (GFLOP/s) | {v["gflops"]} ({v["gflops_min"]}..{v["gflops_max"]}) | | | | | | |");
        }
        var pt = r["pytorch"]!;
        if (pt["skipped"] is JsonNode skipped)
        {
            sb.AppendLine();
            sb.AppendLine(ci, $"{skipped}");
        }
        else
        {
            foreach (var th in new[] { 1, 2 })
            {
                if (pt[$"threads_{th}"] is JsonNode p && p["train_windows_per_s"] is not null)
                {
                    sb.AppendLine(ci, $"| PyTorch {p["torch_version"]} + OpenBLAS, train {th}t ({p["processes"]} processes) | {p["train_windows_per_s"]} | | | | | | |");
                    sb.AppendLine(ci, $"| PyTorch {p["torch_version"]} + OpenBLAS, score {th}t, batch 64 | {p["score_windows_per_s"]} | | | | | | |");
                    sb.AppendLine(ci, $"| PyTorch matmul {th}t (GFLOP/s) | {p["matmul_gflops"]} | | | | | | |");
                }
            }
        }
        sb.AppendLine();
        sb.AppendLine("| target | measured | goal | met |");
        sb.AppendLine("|---|---:|---:|---|");
        foreach (var t in r["targets"]!.AsArray())
        {
            sb.AppendLine(ci, $"| {t!["target"]} | {t["measured"]} | {t["goal"]} | {(t["met"] is JsonNode met ? (met.GetValue<bool>() ? "yes" : "**no**") : "n/a")} |");
        }
        sb.AppendLine();
        sb.AppendLine("Diagnostics (CPU time, immune to the machine's other load): " + string.Join("; ", r["diagnostics"]!.AsObject().Select(kv => $"{kv.Key} = {kv.Value}")) + ".");
        sb.AppendLine();
        sb.AppendLine("## Cluster cost model");
        sb.AppendLine();
        sb.AppendLine(r["cost_model"]!["formula"]!.ToString());
        sb.AppendLine();
        sb.Append(r["cost_model_markdown"]);
        if (r["data"] is JsonObject d)
        {
            sb.AppendLine("## Data path (issue 6)");
            sb.AppendLine();
            sb.AppendLine(ci, $"{d["rows"]:N0} rows × {d["channels"]} channels Parquet ({d["file_bytes"]} bytes on disk): load + validate + normalise + window " +
                $"{d["seconds"]} s = **{d["values_per_s"]} values/s**; peak RSS above baseline {d["peak_rss_over_data"]}× the float32 data size ({d["float32_bytes"]} bytes).");
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
