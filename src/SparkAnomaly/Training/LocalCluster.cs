using System.Collections.Concurrent;

namespace SparkAnomaly.Training;

/// <summary>
/// The engine seam: something that runs one round of worker tasks and hands back their result bytes.
/// The local cluster runs them as threads of this process; the Spark adapter as grouped-map tasks.
/// </summary>
public interface ITrainingCluster : IDisposable
{
    int Workers { get; }

    /// <summary>Runs each task on its worker; one outcome per task, in any order. A failed task is an outcome with an error, not an exception.</summary>
    IReadOnlyList<TaskOutcome> RunRound(int round, IReadOnlyList<WorkerTask> tasks, CancellationToken cancellationToken);
}

/// <summary>What a fault injected into a worker task does.</summary>
public enum FaultKind
{
    /// <summary>The task throws.</summary>
    Throw,

    /// <summary>The task returns parameters containing NaN.</summary>
    NaN,

    /// <summary>The task returns a parameter vector of the wrong length.</summary>
    WrongShape,

    /// <summary>The task's result is delivered twice.</summary>
    Duplicate,
}

/// <summary>A fault to inject: worker <see cref="Worker"/> in round <see cref="Round"/>, on its first <see cref="Times"/> attempts.</summary>
public sealed record Fault(int Worker, int Round, FaultKind Kind, int Times = 1)
{
    /// <summary>Parses "worker:round[:kind[:times]]", e.g. "1:3" or "0:5:nan:2".</summary>
    public static Fault Parse(string text)
    {
        var p = (text ?? "").Split(':');
        if (p.Length is < 2 or > 4 || !int.TryParse(p[0], out int w) || !int.TryParse(p[1], out int r) || w < 0 || r < 0)
        {
            throw new SparkAnomalyException($"fault '{text}' is not worker:round[:throw|nan|wrong-shape|duplicate[:times]], e.g. 1:3 or 0:5:nan:2.");
        }
        var kind = p.Length < 3 ? FaultKind.Throw : p[2].ToLowerInvariant() switch
        {
            "throw" => FaultKind.Throw,
            "nan" => FaultKind.NaN,
            "wrong-shape" => FaultKind.WrongShape,
            "duplicate" => FaultKind.Duplicate,
            _ => throw new SparkAnomalyException($"fault kind '{p[2]}' in '{text}' is not one of throw, nan, wrong-shape, duplicate."),
        };
        int times = 1;
        if (p.Length == 4 && (!int.TryParse(p[3], out times) || times < 1))
        {
            throw new SparkAnomalyException($"fault '{text}': times must be a whole number of 1 or more.");
        }
        return new Fault(w, r, kind, times);
    }
}

/// <summary>
/// The embedded default cluster: N replicas as dedicated threads of this process (a stable thread per
/// worker keeps its intra-op thread setting), each resolving its own shard. Requests and results
/// cross as the same bytes a Spark task would carry, so the wire format runs on every local run.
/// </summary>
public sealed class LocalCluster : ITrainingCluster
{
    private readonly ShardData[] _shards;
    private readonly Thread[] _threads;
    private readonly BlockingCollection<Action>[] _queues;
    private readonly IReadOnlyList<Fault> _faults;
    private readonly ConcurrentDictionary<(int Worker, int Round), int> _attempts = new();
    private int _injected;

    public LocalCluster(ShardData[] shards, IReadOnlyList<Fault>? faults = null)
    {
        ArgumentNullException.ThrowIfNull(shards);
        _shards = shards;
        _faults = faults ?? Array.Empty<Fault>();
        _queues = shards.Select(_ => new BlockingCollection<Action>()).ToArray();
        _threads = shards.Select((_, w) =>
        {
            var t = new Thread(() =>
            {
                foreach (var job in _queues[w].GetConsumingEnumerable())
                {
                    job();
                }
            })
            {
                IsBackground = true,
                Name = $"sparkanomaly-worker-{w}",
            };
            t.Start();
            return t;
        }).ToArray();
    }

    public int Workers => _shards.Length;

    public IReadOnlyList<ShardData> Shards => _shards;

    /// <summary>Faults injected so far (one per faulty attempt).</summary>
    public int FaultsInjected => Volatile.Read(ref _injected);

    public IReadOnlyList<TaskOutcome> RunRound(int round, IReadOnlyList<WorkerTask> tasks, CancellationToken cancellationToken)
    {
        var outcomes = new ConcurrentQueue<TaskOutcome>();
        using var done = new CountdownEvent(tasks.Count);
        foreach (var task in tasks)
        {
            if (task.Worker < 0 || task.Worker >= _shards.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(tasks), $"task for worker {task.Worker}, cluster has {_shards.Length}");
            }
            _queues[task.Worker].Add(() =>
            {
                try
                {
                    foreach (var o in RunTask(round, task, cancellationToken))
                    {
                        outcomes.Enqueue(o);
                    }
                }
                finally
                {
                    done.Signal();
                }
            });
        }
        done.Wait(cancellationToken);
        return outcomes.ToList();
    }

    private IEnumerable<TaskOutcome> RunTask(int round, WorkerTask task, CancellationToken ct)
    {
        var fault = _faults.FirstOrDefault(f => f.Worker == task.Worker && f.Round == round);
        bool inject = fault is not null && _attempts.AddOrUpdate((task.Worker, round), 1, (_, n) => n + 1) <= fault.Times;
        if (inject)
        {
            Interlocked.Increment(ref _injected);
        }
        byte[] result;
        try
        {
            if (inject && fault!.Kind == FaultKind.Throw)
            {
                throw new InvalidOperationException($"injected fault: worker {task.Worker} failed in round {round}");
            }
            if (task.Worker == 0)
            {
                PausePoint.Reached("fit", round);
            }
            result = TrainingWorker.Run(task.Request, _shards[task.Worker], ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new[] { new TaskOutcome(task.Worker, null, $"{e.GetType().Name}: {e.Message}") };
        }
        if (!inject)
        {
            return new[] { new TaskOutcome(task.Worker, result, null) };
        }
        var decoded = WorkerPayload.DecodeResult(result);
        return fault!.Kind switch
        {
            FaultKind.NaN => new[] { new TaskOutcome(task.Worker, WorkerPayload.Encode(decoded with { Parameters = decoded.Parameters.Select((v, i) => i == 0 ? float.NaN : v).ToArray() }), null) },
            FaultKind.WrongShape => new[] { new TaskOutcome(task.Worker, WorkerPayload.Encode(decoded with { Parameters = decoded.Parameters[..^1] }), null) },
            _ => new[] { new TaskOutcome(task.Worker, result, null), new TaskOutcome(task.Worker, result, null) },
        };
    }

    public void Dispose()
    {
        foreach (var q in _queues)
        {
            q.CompleteAdding();
        }
        foreach (var t in _threads)
        {
            t.Join();
        }
        foreach (var q in _queues)
        {
            q.Dispose();
        }
    }
}
