using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using SparkAnomaly.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace SparkAnomaly.Training;

/// <summary>
/// Which windows a worker trains at each of its minibatches: epoch e of worker w visits its shard in
/// a Fisher–Yates order seeded by (seed, w, e). Stateless — minibatch c depends only on c — so a
/// retried or resumed task trains exactly the same windows.
/// </summary>
public sealed class BatchSchedule
{
    private readonly int _windows;
    private readonly int _batchSize;
    private readonly long _seed;
    private readonly int _worker;
    private long _cachedEpoch = -1;
    private int[] _order = Array.Empty<int>();

    public BatchSchedule(int windows, int batchSize, bool dropPartialBatch, long seed, int worker)
    {
        _windows = windows;
        _batchSize = batchSize;
        _seed = seed;
        _worker = worker;
        // DL4J drops the remainder; the weighted mode trains it as a smaller last batch.
        BatchesPerEpoch = windows == 0 ? 0
            : dropPartialBatch && windows >= batchSize ? windows / batchSize
            : (windows + batchSize - 1) / batchSize;
    }

    public int BatchesPerEpoch { get; }

    /// <summary>Window indices of minibatch <paramref name="cursor"/> (0-based over the whole run).</summary>
    public ReadOnlySpan<int> Batch(long cursor)
    {
        if (BatchesPerEpoch == 0)
        {
            return ReadOnlySpan<int>.Empty;
        }
        long epoch = cursor / BatchesPerEpoch;
        int j = (int)(cursor % BatchesPerEpoch);
        if (epoch != _cachedEpoch)
        {
            _order = Permutation(_windows, Hashing.Mix((ulong)_seed, _worker, epoch));
            _cachedEpoch = epoch;
        }
        int start = j * _batchSize;
        return _order.AsSpan(start, Math.Min(_batchSize, _windows - start));
    }

    private static int[] Permutation(int n, ulong seed)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++)
        {
            p[i] = i;
        }
        ulong state = seed;
        for (int i = n - 1; i > 0; i--)
        {
            state = Hashing.SplitMix(state);
            int k = (int)(state % (ulong)(i + 1));
            (p[i], p[k]) = (p[k], p[i]);
        }
        return p;
    }
}

/// <summary>
/// The engine-agnostic worker: request bytes plus its shard in, result bytes out. The local cluster
/// and a Spark task call exactly this.
/// </summary>
public static class TrainingWorker
{
    /// <summary>Seed of the latent noise ε for minibatch <paramref name="cursor"/> of <paramref name="worker"/>.</summary>
    public static ulong NoiseSeed(long seed, int worker, long cursor) => Hashing.Mix((ulong)seed, 0x6E6F697365, worker, cursor);

    public static byte[] Run(ReadOnlySpan<byte> request, ShardData shard, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var clock = Stopwatch.StartNew();
        var req = WorkerPayload.DecodeRequest(request);
        if (shard.WindowCount > 0 && (shard.Channels != req.Model.Channels || shard.WindowLength != req.Model.WindowLength))
        {
            throw new SparkAnomalyException(
                $"worker {req.Worker}: shard has windows of {shard.WindowLength}×{shard.Channels}, the model expects {req.Model.WindowLength}×{req.Model.Channels}.");
        }
        double decodeMs = clock.Elapsed.TotalMilliseconds;
        if (req.Threads > 0 && torch.get_num_threads() != req.Threads)
        {
            torch.set_num_threads(req.Threads);
        }

        clock.Restart();
        var replica = ReplicaPool.Rent(req.Model, DeviceResolver.Resolve(req.Device));
        try
        {
            replica.SetParameters(req.Parameters);
            replica.SetUpdater(req.Updater);
            var fit = Fit(replica, req, shard, cancellationToken);
            double fitMs = clock.Elapsed.TotalMilliseconds;

            clock.Restart();
            var parameters = replica.GetParameters();
            var updater = req.Optimizer == OptimizerKind.Adam ? replica.GetUpdater() : UpdaterState.Empty;
            var result = new WorkerResult
            {
                ConfigHash = req.ConfigHash,
                Round = req.Round,
                Worker = req.Worker,
                WindowsSeen = fit.Windows,
                Batches = fit.Batches,
                BatchCursor = req.BatchCursor + fit.Batches,
                MeanLoss = fit.Windows > 0 ? fit.LossSum / fit.Windows : double.NaN,
                LastLoss = fit.LastLoss,
                MeanReconstruction = fit.Windows > 0 ? fit.ReconSum / fit.Windows : double.NaN,
                MeanKl = fit.Windows > 0 ? fit.KlSum / fit.Windows : double.NaN,
                DecodeMs = decodeMs,
                FitMs = fitMs,
                EncodeMs = 0,
                Parameters = parameters,
                Updater = updater,
            };
            result = result with { EncodeMs = clock.Elapsed.TotalMilliseconds };
            return WorkerPayload.Encode(result);
        }
        finally
        {
            ReplicaPool.Return(replica);
        }
    }

    private readonly record struct FitTotals(long Windows, int Batches, double LossSum, double ReconSum, double KlSum, double LastLoss);

    private static FitTotals Fit(Replica replica, WorkerRequest req, ShardData shard, CancellationToken ct)
    {
        var schedule = new BatchSchedule(shard.WindowCount, req.BatchSize, req.DropPartialBatch, req.Seed, req.Worker);
        var optimizer = new OptimizerSettings(req.Optimizer, req.LearningRate, req.GradientClip);
        long windows = 0;
        double lossSum = 0, reconSum = 0, klSum = 0, last = double.NaN;
        int batches = 0;
        int t = req.Model.WindowLength, f = req.Model.Channels;
        // Minibatches are copied straight into one CPU tensor kept for the whole task (no per-step
        // array or tensor allocation); each step trains a view of its first b windows.
        using var input = empty(new long[] { req.BatchSize, t, f }, ScalarType.Float32).DetachFromDisposeScope();
        var buffer = MemoryMarshal.Cast<byte, float>(input.bytes);
        using var scope = NewDisposeScope();
        for (int s = 0; s < req.Steps && schedule.BatchesPerEpoch > 0; s++)
        {
            ct.ThrowIfCancellationRequested();
            long cursor = req.BatchCursor + s;
            var batch = schedule.Batch(cursor);
            int b = batch.Length;
            for (int i = 0; i < b; i++)
            {
                shard.Window(batch[i]).CopyTo(buffer.Slice(i * t * f, t * f));
            }
            var x = input.narrow(0, 0, b);
            if (replica.Device.type != DeviceType.CPU)
            {
                x = x.to(replica.Device);
            }
            using var g = new Generator(NoiseSeed(req.Seed, req.Worker, cursor));
            var eps = randn(new long[] { b, req.Model.LatentSize }, generator: g).to(replica.Device);
            var (loss, recon, kl) = replica.TrainStep(x, eps, req.KlWeight, optimizer);
            if (!double.IsFinite(loss))
            {
                throw new SparkAnomalyException(
                    $"worker {req.Worker}, round {req.Round}: the loss became {loss} at minibatch {cursor}. Lower learningRate, set gradientClip, or check the input for extreme values.");
            }
            lossSum += loss * b;
            reconSum += recon * b;
            klSum += kl * b;
            last = loss;
            windows += b;
            batches++;
            scope.DisposeEverything();
        }
        return new FitTotals(windows, batches, lossSum, reconSum, klSum, last);
    }
}

/// <summary>Turns a device string into a torch device for this process.</summary>
public static class DeviceResolver
{
    private static readonly ConcurrentDictionary<string, Device> s_cache = new();

    public static Device Resolve(string device)
    {
        return s_cache.GetOrAdd(device ?? "auto", d =>
        {
            var spec = DeviceSpec.Parse(d);
            TorchRuntime.EnsureLoaded();
            bool cuda = torch.cuda.is_available();
            return spec.Kind switch
            {
                "cpu" => CPU,
                "auto" => cuda ? CUDA : CPU,
                _ when !cuda => throw new SparkAnomalyException($"device '{d}' was requested but CUDA is not available here (no GPU, or the CPU backend TorchSharp-cpu is installed). Use --device cpu or auto, or build with -p:TorchBackend=cuda on a GPU machine."),
                _ => spec.Index is int i ? torch.device(DeviceType.CUDA, i) : CUDA,
            };
        });
    }
}
