using System.Diagnostics;
using SparkAnomaly.Data;
using SparkAnomaly.Model;
using SparkAnomaly.Scoring;
using SparkAnomaly.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SparkAnomaly.Benchmarks;

/// <summary>One timed run: elapsed seconds and units of work done (windows, or FLOPs for matmul).</summary>
internal readonly record struct RunResult(double Seconds, double Units, IReadOnlyList<RoundStats>? Rounds = null);

/// <summary>A configuration measured once per repetition, interleaved with the others.</summary>
internal sealed class BenchCase : IDisposable
{
    private readonly Func<RunResult> _run;
    private readonly Action? _dispose;

    public BenchCase(string name, string kind, string framework, int workers, int threads, int averagingFrequency, Func<RunResult> run, Action? dispose = null)
    {
        Name = name;
        Kind = kind;
        Framework = framework;
        Workers = workers;
        Threads = threads;
        AveragingFrequency = averagingFrequency;
        _run = run;
        _dispose = dispose;
    }

    public string Name { get; }
    public string Kind { get; }          // train | score | matmul
    public string Framework { get; }     // raw | framework | pytorch
    public int Workers { get; }
    public int Threads { get; }
    public int AveragingFrequency { get; }
    public List<double> Rates { get; } = new();          // units per second, one per repetition
    public List<double> CpuRates { get; } = new();       // units per CPU-second of the whole process
    public List<RoundStats> Rounds { get; } = new();
    public long PeakRssBytes { get; set; } = -1;
    public double MinorFaultsPerUnit { get; set; } = double.NaN;

    public RunResult RunOnce() => _run();

    public void Dispose() => _dispose?.Invoke();
}

/// <summary>Builds the interleaved cases on the WORKLOAD.md workload.</summary>
internal static class Cases
{
    /// <summary>Raw TorchSharp training: nn modules + torch.optim.Adam, batches cycled in order.</summary>
    public static BenchCase RawTrain(Tensor data, int threads, int steps)
    {
        torch.random.manual_seed(Workload.Seed);
        var model = new RawLstmVae();
        var opt = optim.Adam(model.parameters(), lr: Workload.LearningRate);
        model.train();
        int it = 0;
        RunResult Run()
        {
            torch.set_num_threads(threads);
            var sw = Stopwatch.StartNew();
            float last = 0;
            for (int s = 0; s < steps; s++)
            {
                using var scope = NewDisposeScope();
                var x = data[it % Workload.Batches];
                it++;
                var eps = randn(Workload.B, Workload.Z);
                opt.zero_grad();
                var (xhat, mu, lv) = model.Forward(x, eps);
                var loss = RawLstmVae.Loss(xhat, x, mu, lv);
                loss.backward();
                opt.step();
                if (s == steps - 1)
                {
                    last = loss.item<float>();
                }
            }
            double secs = sw.Elapsed.TotalSeconds;
            if (!float.IsFinite(last))
            {
                throw new InvalidOperationException("raw loop diverged");
            }
            return new RunResult(secs, steps * Workload.B);
        }
        return new BenchCase($"raw train {threads}t", "train", "raw", 1, threads, 0, Run, () => { opt.Dispose(); model.Dispose(); });
    }

    /// <summary>
    /// The framework: ParameterAveragingMaster + LocalCluster + TrainingWorker, i.e. request and result
    /// bytes every round, averaging, Adam state carried. Each worker trains <paramref name="steps"/>
    /// minibatches of 64 per run (steps / averagingFrequency rounds).
    /// </summary>
    public static BenchCase FrameworkTrain(IReadOnlyList<Series> windows, int workers, int threads, int averagingFrequency, int steps)
    {
        var config = new TrainingConfig
        {
            Workers = workers,
            BatchSizePerWorker = Workload.B,
            AveragingFrequency = averagingFrequency,
            Rounds = Math.Max(1, steps / averagingFrequency),
            ThreadsPerWorker = threads,
            WindowLength = Workload.T,
            Stride = Workload.T,
            HiddenSize = Workload.H,
            LatentSize = Workload.Z,
            LearningRate = Workload.LearningRate,
            KlWeight = 1,
            KlAnnealEpochs = 0,
            Device = "cpu",
            CheckpointEvery = 0,
            Repartition = RepartitionPolicy.Always,
            Seed = Workload.Seed,
        };
        var shards = ShardPlanner.Split(windows, workers, Workload.T, Workload.T, RepartitionPolicy.Always);
        var model = config.ModelFor(Workload.F);
        var cluster = new LocalCluster(shards);
        var sizes = shards.Select(s => (long)s.WindowCount).ToArray();
        RunResult Run()
        {
            var rounds = new List<RoundStats>();
            var master = new ParameterAveragingMaster(config, model, cluster, sizes, new MasterOptions { OnRound = rounds.Add });
            var sw = Stopwatch.StartNew();
            var outcome = master.Run();
            double secs = sw.Elapsed.TotalSeconds;
            if (!double.IsFinite(outcome.Rounds[^1].Loss))
            {
                throw new InvalidOperationException("framework run diverged");
            }
            return new RunResult(secs, rounds.Sum(r => r.Windows), rounds);
        }
        return new BenchCase($"framework train N={workers}×{threads}t af={averagingFrequency}", "train", "framework", workers, threads, averagingFrequency, Run, cluster.Dispose);
    }

    /// <summary>
    /// Raw scoring of every stride-1 window of one series, batches of <paramref name="batch"/> as
    /// zero-copy as_strided views, per-window per-channel mean squared error copied out (what the
    /// Scorer needs).
    /// </summary>
    public static BenchCase RawScore(Series series, int threads, int batch)
    {
        torch.random.manual_seed(Workload.Seed);
        var model = new RawLstmVae();
        model.eval();
        var values = tensor(series.Values, new long[] { series.Length, Workload.F });
        int windows = series.Length - Workload.T + 1;
        var sink = new float[windows * Workload.F];
        RunResult Run()
        {
            torch.set_num_threads(threads);
            var sw = Stopwatch.StartNew();
            using (no_grad())
            {
                for (int b0 = 0; b0 < windows; b0 += batch)
                {
                    using var scope = NewDisposeScope();
                    int b = Math.Min(batch, windows - b0);
                    var x = values.as_strided(new long[] { b, Workload.T, Workload.F }, new long[] { Workload.F, Workload.F, 1 }, (long)b0 * Workload.F);
                    var (mu, _) = model.Encode(x);
                    var err = (model.Decode(mu) - x).square().mean(new long[] { 1 }).contiguous();
                    err.data<float>().CopyTo(sink.AsSpan(b0 * Workload.F, b * Workload.F));
                }
            }
            return new RunResult(sw.Elapsed.TotalSeconds, windows);
        }
        return new BenchCase($"raw score {threads}t", "score", "raw", 1, threads, 0, Run, () => { values.Dispose(); model.Dispose(); });
    }

    /// <summary>The framework's Scorer on the same series: normalise, windows, reconstruct, per-step scores and contributions.</summary>
    public static BenchCase FrameworkScore(Series series, int threads, int batch)
    {
        var set = new SeriesSet(new[] { series }, Enumerable.Range(0, Workload.F).Select(c => $"c{c}").ToArray(), TimestampKind.Step, "bench");
        var model = new ModelConfig(Workload.F, Workload.T, Workload.H, Workload.Z);
        var trained = new TrainedModel(model, Normaliser.Fit(set), Replica.InitialParameters(model, Workload.Seed),
            new ThresholdInfo("percentile:99.9", 1.0, 0), new TrainingProvenance
            {
                LibraryVersion = "bench", DataSource = "bench", DataFingerprint = "", Seed = Workload.Seed, Rounds = 0, Workers = 1,
                TrainingWindows = 0, FinalLoss = 0, CreatedUtc = "", ConfigJson = "{}",
            });
        int windows = series.Length - Workload.T + 1;
        RunResult Run()
        {
            torch.set_num_threads(threads);
            var sw = Stopwatch.StartNew();
            var scored = Scorer.Score(trained, set, out _, batchSize: batch);
            double secs = sw.Elapsed.TotalSeconds;
            if (scored[0].Score.Length != series.Length)
            {
                throw new InvalidOperationException("scorer returned the wrong length");
            }
            return new RunResult(secs, windows);
        }
        return new BenchCase($"framework score {threads}t", "score", "framework", 1, threads, 0, Run);
    }

    /// <summary>C = A·B, n×n float32, <paramref name="reps"/> times per run; units are FLOPs.</summary>
    public static BenchCase Matmul(int n, int threads, int reps)
    {
        var a = randn(n, n);
        var b = randn(n, n);
        RunResult Run()
        {
            torch.set_num_threads(threads);
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++)
            {
                using var c = mm(a, b);
            }
            return new RunResult(sw.Elapsed.TotalSeconds, 2.0 * n * (double)n * n * reps);
        }
        return new BenchCase($"matmul {n}² {threads}t", "matmul", "raw", 1, threads, 0, Run, () => { a.Dispose(); b.Dispose(); });
    }
}
