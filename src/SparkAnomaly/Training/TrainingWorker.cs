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
        using var lease = DevicePool.Shared.Lease(req.Device);
        var replica = ReplicaPool.Rent(req.Model, lease.IsCuda ? torch.device(DeviceType.CUDA, lease.CudaIndex) : CPU);
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
        int steps = schedule.BatchesPerEpoch > 0 ? req.Steps : 0;
        using var batchSource = new MinibatchSource(shard, schedule, req.BatchCursor, steps, req.BatchSize * t * f, req.Prefetch, ct);
        // Every step trains a view of one CPU tensor kept for the whole task (no per-step tensor allocation).
        using var input = empty(new long[] { req.BatchSize, t, f }, ScalarType.Float32).DetachFromDisposeScope();
        using var scope = NewDisposeScope();
        for (int s = 0; s < steps; s++)
        {
            ct.ThrowIfCancellationRequested();
            long cursor = req.BatchCursor + s;
            var (filled, b) = batchSource.Next();
            filled.AsSpan(0, b * t * f).CopyTo(MemoryMarshal.Cast<byte, float>(input.bytes));
            batchSource.Recycle(filled);
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

    /// <summary>
    /// Copies the windows of each minibatch into reused buffers, on a background thread when prefetch
    /// is on, so the next batch is ready when the current step ends. Order and content are those of
    /// <see cref="BatchSchedule"/> either way: prefetch never changes results.
    /// </summary>
    private sealed class MinibatchSource : IDisposable
    {
        private readonly ShardData _shard;
        private readonly BatchSchedule _schedule;
        private readonly long _firstCursor;
        private readonly int _steps;
        private readonly int _bufferLength;
        private readonly System.Collections.Concurrent.BlockingCollection<(float[] Buffer, int Size)>? _ready;
        private readonly System.Collections.Concurrent.ConcurrentBag<float[]> _free = new();
        private readonly Task? _producer;
        private readonly CancellationTokenSource _stop;
        private int _next;

        public MinibatchSource(ShardData shard, BatchSchedule schedule, long firstCursor, int steps, int bufferLength, int prefetch, CancellationToken ct)
        {
            _shard = shard;
            _schedule = schedule;
            _firstCursor = firstCursor;
            _steps = steps;
            _bufferLength = bufferLength;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (prefetch > 0 && steps > 1)
            {
                _ready = new(prefetch);
                var token = _stop.Token;
                _producer = Task.Run(() =>
                {
                    try
                    {
                        for (int s = 0; s < _steps; s++)
                        {
                            _ready.Add(Fill(s), token);
                        }
                    }
                    catch (OperationCanceledException)
                    {
                    }
                    finally
                    {
                        _ready.CompleteAdding();
                    }
                }, token);
            }
        }

        public (float[] Buffer, int Size) Next() => _ready is null ? Fill(_next++) : _ready.Take(_stop.Token);

        public void Recycle(float[] buffer) => _free.Add(buffer);

        private (float[], int) Fill(int step)
        {
            var buffer = _free.TryTake(out var b) ? b : new float[_bufferLength];
            var batch = _schedule.Batch(_firstCursor + step);
            int size = _shard.WindowLength * _shard.Channels;
            for (int i = 0; i < batch.Length; i++)
            {
                _shard.Window(batch[i]).CopyTo(buffer.AsSpan(i * size, size));
            }
            return (buffer, batch.Length);
        }

        public void Dispose()
        {
            _stop.Cancel();
            try
            {
                _producer?.Wait();
            }
            catch (AggregateException)
            {
            }
            _ready?.Dispose();
            _stop.Dispose();
        }
    }
}
