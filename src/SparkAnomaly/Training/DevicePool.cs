using SparkAnomaly.Model;
using TorchSharp;

namespace SparkAnomaly.Training;

/// <summary>What a device string asks for.</summary>
public enum DeviceRequestKind
{
    /// <summary><c>auto</c>: a free GPU when there is one, else the CPU.</summary>
    Auto,

    /// <summary><c>cpu</c>: always the CPU; never takes a GPU from the pool.</summary>
    Cpu,

    /// <summary><c>cuda</c>: any free GPU (CPU fallback, logged, when none is free or visible).</summary>
    Cuda,

    /// <summary><c>cuda:N</c>: GPU N, which must be one of the pool's devices.</summary>
    CudaIndex,
}

/// <summary>A parsed device string: <c>auto | cpu | cuda | cuda:N</c>.</summary>
public sealed record DeviceRequest(DeviceRequestKind Kind, int Index = -1)
{
    public static DeviceRequest Auto { get; } = new(DeviceRequestKind.Auto);

    /// <summary>Parses <c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> (case and surrounding spaces ignored).</summary>
    /// <exception cref="SparkAnomalyException">The text is none of these.</exception>
    public static DeviceRequest Parse(string? text)
    {
        string t = (text ?? string.Empty).Trim().ToLowerInvariant();
        switch (t)
        {
            case "auto":
                return Auto;
            case "cpu":
                return new DeviceRequest(DeviceRequestKind.Cpu);
            case "cuda":
                return new DeviceRequest(DeviceRequestKind.Cuda);
        }
        if (t.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(t.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index))
        {
            return new DeviceRequest(DeviceRequestKind.CudaIndex, index);
        }
        throw new SparkAnomalyException(
            $"Device '{text}' is not valid. Use auto, cpu, cuda or cuda:N (N = 0, 1, ...), e.g. \"device\": \"cuda:0\".");
    }

    public override string ToString() => Kind switch
    {
        DeviceRequestKind.Auto => "auto",
        DeviceRequestKind.Cpu => "cpu",
        DeviceRequestKind.Cuda => "cuda",
        _ => $"cuda:{Index}",
    };
}

/// <summary>
/// A device held by one running task until it is disposed. Dispose it with <c>using</c> so the device
/// goes back to the pool also when the task fails. Disposing twice is harmless.
/// </summary>
public sealed class DeviceLease : IDisposable
{
    private readonly DevicePool? _pool;
    private int _disposed;

    internal DeviceLease(DevicePool? pool, int cudaIndex)
    {
        _pool = pool;
        CudaIndex = cudaIndex;
    }

    /// <summary>The GPU index, or -1 for the CPU.</summary>
    public int CudaIndex { get; }

    public bool IsCuda => CudaIndex >= 0;

    /// <summary>TorchSharp's device string: <c>cpu</c> or <c>cuda:N</c>.</summary>
    public string Device => IsCuda ? $"cuda:{CudaIndex}" : "cpu";

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && IsCuda)
        {
            _pool?.Return(CudaIndex);
        }
    }

    public override string ToString() => Device;
}

/// <summary>
/// Leases a GPU to each concurrently running task of this process. On Spark, every task of an
/// executor is a thread of one .NET worker process, and that worker cannot see which GPU Spark
/// assigned to the task, so the process shares out the GPUs itself: one per running task, and the
/// CPU (logged) when every GPU is leased or none is visible. Thread-safe.
/// </summary>
public sealed class DevicePool
{
    /// <summary>Environment variable with an explicit device list for <see cref="Shared"/>, e.g. <c>cuda:0,cuda:1</c>
    /// (on Spark: <c>spark.executorEnv.SPARKANOMALY_DEVICES</c>).</summary>
    public const string DevicesEnvironmentVariable = "SPARKANOMALY_DEVICES";

    private static readonly Lazy<DevicePool> s_shared = new(CreateShared, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly object _gate = new();
    private readonly int[] _devices;
    private readonly bool[] _leased;
    private readonly Action<string> _log;
    private readonly HashSet<string> _logged = new(StringComparer.Ordinal);

    /// <summary>A pool of the GPUs <c>cuda:0</c> … <c>cuda:(count-1)</c>; 0 means CPU only.</summary>
    public DevicePool(int cudaDeviceCount, Action<string>? log = null)
        : this(Enumerable.Range(0, Math.Max(0, cudaDeviceCount)), log)
    {
        if (cudaDeviceCount < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cudaDeviceCount), cudaDeviceCount, "must be 0 or more");
        }
    }

    private DevicePool(IEnumerable<int> cudaIndices, Action<string>? log)
    {
        _devices = cudaIndices.ToArray();
        _leased = new bool[_devices.Length];
        _log = log ?? (_ => { });
    }

    /// <summary>
    /// A pool of exactly the listed GPUs, e.g. <c>"cuda:0,cuda:1"</c> (an empty list or <c>cpu</c> means CPU only).
    /// </summary>
    /// <exception cref="SparkAnomalyException">An entry is not <c>cuda:N</c>, or a device is listed twice.</exception>
    public static DevicePool FromList(string list, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(list);
        var indices = new List<int>();
        foreach (string entry in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var request = DeviceRequest.Parse(entry);
            if (request.Kind == DeviceRequestKind.Cpu)
            {
                continue;
            }
            if (request.Kind != DeviceRequestKind.CudaIndex)
            {
                throw new SparkAnomalyException(
                    $"Device list '{list}': entry '{entry}' must name one GPU as cuda:N (e.g. \"cuda:0,cuda:1\").");
            }
            if (indices.Contains(request.Index))
            {
                throw new SparkAnomalyException($"Device list '{list}' names cuda:{request.Index} twice. List each GPU once.");
            }
            indices.Add(request.Index);
        }
        return new DevicePool(indices, log);
    }

    /// <summary>
    /// The process-wide pool, created on first use: from <see cref="DevicesEnvironmentVariable"/> when set,
    /// else from the CUDA devices TorchSharp sees. Fallbacks are logged to standard error (the executor log on Spark).
    /// </summary>
    public static DevicePool Shared => s_shared.Value;

    /// <summary>The GPUs this pool hands out, as <c>cuda:N</c>.</summary>
    public IReadOnlyList<string> Devices => _devices.Select(i => $"cuda:{i}").ToArray();

    public int Capacity => _devices.Length;

    /// <summary>GPUs not leased right now.</summary>
    public int Available
    {
        get
        {
            lock (_gate)
            {
                return _leased.Count(l => !l);
            }
        }
    }

    /// <summary>Leases a device for one task, parsing <paramref name="device"/> (<c>auto | cpu | cuda | cuda:N</c>).</summary>
    public DeviceLease Lease(string device) => Lease(DeviceRequest.Parse(device));

    /// <summary>
    /// Leases a device for one task: <c>cpu</c> gives the CPU; <c>auto</c> and <c>cuda</c> give a free GPU;
    /// <c>cuda:N</c> gives GPU N. When that GPU (or every GPU) is leased, or none is visible, the task gets
    /// the CPU and the fallback is logged.
    /// </summary>
    /// <exception cref="SparkAnomalyException"><c>cuda:N</c> names a GPU that is not in this pool.</exception>
    public DeviceLease Lease(DeviceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Kind == DeviceRequestKind.Cpu)
        {
            return new DeviceLease(null, -1);
        }
        lock (_gate)
        {
            if (request.Kind == DeviceRequestKind.CudaIndex)
            {
                int slot = Array.IndexOf(_devices, request.Index);
                if (slot < 0)
                {
                    throw new SparkAnomalyException(
                        $"Device cuda:{request.Index} was requested but this process has {Describe()}. " +
                        $"Use auto or cuda, name a visible GPU, or set {DevicesEnvironmentVariable}.");
                }
                if (!_leased[slot])
                {
                    _leased[slot] = true;
                    return new DeviceLease(this, request.Index);
                }
            }
            else
            {
                for (int slot = 0; slot < _devices.Length; slot++)
                {
                    if (!_leased[slot])
                    {
                        _leased[slot] = true;
                        return new DeviceLease(this, _devices[slot]);
                    }
                }
            }
            if (request.Kind == DeviceRequestKind.Auto && _devices.Length == 0)
            {
                return new DeviceLease(null, -1);   // auto on a machine without GPUs: the CPU is the expected answer
            }
            string why = _devices.Length == 0
                ? "no CUDA device is visible to this process"
                : $"all {_devices.Length} GPU(s) of this process ({string.Join(",", Devices)}) are leased to other running tasks";
            string fallback = $"device {request}: {why}; this task runs on the CPU. " +
                "On Spark, cap concurrent tasks per executor at its GPU count (spark.task.resource.gpu.amount, spark.executor.cores).";
            // Every worker of a run asks, and the answer is the same: once per process is enough to act on.
            if (_logged.Add(fallback))
            {
                _log(fallback);
            }
            return new DeviceLease(null, -1);
        }
    }

    internal void Return(int cudaIndex)
    {
        lock (_gate)
        {
            int slot = Array.IndexOf(_devices, cudaIndex);
            if (slot >= 0)
            {
                _leased[slot] = false;
            }
        }
    }

    private string Describe() => _devices.Length == 0 ? "no CUDA device" : $"the GPUs {string.Join(",", Devices)}";

    private static DevicePool CreateShared()
    {
        Action<string> log = message => Console.Error.WriteLine("SparkAnomaly warning: " + message);
        string? list = Environment.GetEnvironmentVariable(DevicesEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(list))
        {
            return FromList(list, log);
        }
        TorchRuntime.EnsureLoaded();
        return new DevicePool(torch.cuda.is_available() ? torch.cuda.device_count() : 0, log);
    }
}
