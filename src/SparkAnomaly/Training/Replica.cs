using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using SparkAnomaly.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SparkAnomaly.Training;

/// <summary>Optimiser settings a replica steps with.</summary>
public sealed record OptimizerSettings(OptimizerKind Kind, double LearningRate, double GradientClip = 0, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8);

/// <summary>
/// One LSTM-VAE with its optimiser state, flattened to and from float arrays in
/// named_parameters() order: the unit that the workers train and the driver averages.
/// Adam is written out here (the same update as torch.optim.Adam) so that its state is plain
/// tensors the driver can average, carry and checkpoint.
/// </summary>
public sealed class Replica : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _m;
    private readonly Tensor[] _v;

    // On the CPU the parameters and Adam moments live in three contiguous buffers, the per-tensor
    // parameters and moments being views of them: loading and flattening a replica is then one copy
    // each, not a tensor per parameter. Adam still runs per tensor on the views (the same kernels on
    // the same contiguous shapes, so the same bits). Null on other devices.
    private readonly Tensor? _flatParameters;
    private readonly Tensor? _flatM;
    private readonly Tensor? _flatV;

    public Replica(ModelConfig config, Device? device = null)
    {
        TorchRuntime.EnsureLoaded();
        NativeAllocator.EnsureTuned();
        Model = new LstmVae(config);
        Device = device ?? CPU;
        if (Device.type != DeviceType.CPU)
        {
            Model.to(Device);
        }
        _parameters = Model.parameters().ToArray();
        Shapes = Model.named_parameters().Select(p => (p.name, p.parameter.shape)).ToArray();
        ParameterCount = checked((int)_parameters.Sum(p => p.numel()));
        if (Device.type == DeviceType.CPU)
        {
            _flatParameters = zeros(ParameterCount).DetachFromDisposeScope();
            _flatM = zeros(ParameterCount).DetachFromDisposeScope();
            _flatV = zeros(ParameterCount).DetachFromDisposeScope();
            _m = Views(_flatM, _parameters);
            _v = Views(_flatV, _parameters);
            using var noGrad = no_grad();
            var views = Views(_flatParameters, _parameters);
            for (int i = 0; i < _parameters.Length; i++)
            {
                views[i].copy_(_parameters[i]);
                _parameters[i].set_(views[i]);
                views[i].Dispose();
            }
        }
        else
        {
            _m = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
            _v = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        }
    }

    /// <summary>Views of consecutive slices of <paramref name="flat"/> shaped like <paramref name="like"/>.</summary>
    private static Tensor[] Views(Tensor flat, Tensor[] like)
    {
        var views = new Tensor[like.Length];
        long offset = 0;
        for (int i = 0; i < like.Length; i++)
        {
            long n = like[i].numel();
            using var slice = flat.narrow(0, offset, n);
            views[i] = slice.view(like[i].shape).DetachFromDisposeScope();
            offset += n;
        }
        return views;
    }

    public LstmVae Model { get; }

    public Device Device { get; }

    public int ParameterCount { get; }

    /// <summary>Adam steps taken (bias correction uses it).</summary>
    public long Step { get; private set; }

    /// <summary>Parameter names and shapes in flattening order.</summary>
    public IReadOnlyList<(string Name, long[] Shape)> Shapes { get; }

    /// <summary>
    /// Initial parameters for a seed: torch's default LSTM/Linear initialisation drawn from the
    /// global generator under a lock, so concurrent callers cannot interleave draws.
    /// </summary>
    public static float[] InitialParameters(ModelConfig config, long seed)
    {
        TorchRuntime.EnsureLoaded();
        NativeAllocator.EnsureTuned();
        lock (LstmVae.GlobalGeneratorGate)
        {
            torch.random.manual_seed(seed);
            using var model = new LstmVae(config);
            return Flatten(model.parameters());
        }
    }

    public float[] GetParameters() => _flatParameters is { } f ? CopyOut(f) : Flatten(_parameters);

    public void SetParameters(ReadOnlySpan<float> flat)
    {
        if (_flatParameters is { } f)
        {
            CopyIn(flat, f, "parameters");
        }
        else
        {
            Unflatten(flat, _parameters, "parameters");
        }
    }

    public UpdaterState GetUpdater() => _flatM is not null && _flatV is not null
        ? new(Step, CopyOut(_flatM), CopyOut(_flatV))
        : new(Step, Flatten(_m), Flatten(_v));

    public void SetUpdater(UpdaterState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.FirstMoment.Length == 0 && state.SecondMoment.Length == 0)
        {
            ResetUpdater();
            return;
        }
        if (_flatM is { } m && _flatV is { } v)
        {
            CopyIn(state.FirstMoment, m, "Adam first moment");
            CopyIn(state.SecondMoment, v, "Adam second moment");
        }
        else
        {
            Unflatten(state.FirstMoment, _m, "Adam first moment");
            Unflatten(state.SecondMoment, _v, "Adam second moment");
        }
        Step = state.Step;
    }

    public void ResetUpdater()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        IEnumerable<Tensor> targets = _flatM is not null && _flatV is not null ? new[] { _flatM, _flatV } : _m.Concat(_v);
        foreach (var t in targets)
        {
            t.zero_();
        }
        Step = 0;
    }

    /// <summary>
    /// One training step on windows <paramref name="x"/> [B, T, F] with latent noise
    /// <paramref name="eps"/> [B, Z]. Returns (loss, reconstruction, kl) as doubles.
    /// The caller owns the dispose scope.
    /// </summary>
    public (double Loss, double Reconstruction, double Kl) TrainStep(Tensor x, Tensor eps, double beta, OptimizerSettings optimizer)
    {
        Model.train();
        Model.zero_grad();
        var (xhat, mu, logVar) = Model.call(x, eps);
        var (loss, recon, kl) = LstmVae.Elbo(xhat, x, mu, logVar, beta);
        loss.backward();
        if (optimizer.GradientClip > 0)
        {
            nn.utils.clip_grad_norm_(_parameters, optimizer.GradientClip);
        }
        ApplyUpdate(optimizer);
        return (loss.item<float>(), recon.item<float>(), kl.item<float>());
    }

    private void ApplyUpdate(OptimizerSettings o)
    {
        using var noGrad = no_grad();
        if (o.Kind == OptimizerKind.Sgd)
        {
            foreach (var p in _parameters)
            {
                if (p.grad is { } g)
                {
                    p.add_(g, alpha: -o.LearningRate);
                }
            }
            return;
        }
        Step++;
        double bc1 = 1 - Math.Pow(o.Beta1, Step);
        double bc2Sqrt = Math.Sqrt(1 - Math.Pow(o.Beta2, Step));
        double stepSize = o.LearningRate / bc1;
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_parameters[i].grad is not { } g)
            {
                continue;
            }
            _m[i].mul_(o.Beta1).add_(g, alpha: 1 - o.Beta1);
            _v[i].mul_(o.Beta2).addcmul_(g, g, value: 1 - o.Beta2);
            using var denom = (_v[i].sqrt() / bc2Sqrt).add_(o.Epsilon);
            _parameters[i].addcdiv_(_m[i], denom, value: -stepSize);
        }
    }

    // A contiguous CPU float tensor's storage as a span (one memcpy, where TensorAccessor copies element-wise).
    private static Span<float> Storage(Tensor flat) => MemoryMarshal.Cast<byte, float>(flat.bytes);

    private static float[] CopyOut(Tensor flat)
    {
        var values = new float[flat.numel()];
        Storage(flat).CopyTo(values);
        return values;
    }

    private static void CopyIn(ReadOnlySpan<float> values, Tensor flat, string what)
    {
        if (values.Length != flat.numel())
        {
            throw new SparkAnomalyException($"{what} hold {values.Length} values; the model has {flat.numel()}. The payload or model file belongs to a model of another shape.");
        }
        values.CopyTo(Storage(flat));
    }

    private static float[] Flatten(IEnumerable<Tensor> tensors)
    {
        using var scope = NewDisposeScope();
        var parts = tensors.ToArray();
        var flat = new float[parts.Sum(t => t.numel())];
        int offset = 0;
        foreach (var t in parts)
        {
            var cpu = t.detach().cpu().contiguous();
            var values = cpu.data<float>().ToArray();
            values.CopyTo(flat, offset);
            offset += values.Length;
        }
        return flat;
    }

    private static void Unflatten(ReadOnlySpan<float> flat, Tensor[] targets, string what)
    {
        long expected = targets.Sum(t => t.numel());
        if (flat.Length != expected)
        {
            throw new SparkAnomalyException($"{what} hold {flat.Length} values; the model has {expected}. The payload or model file belongs to a model of another shape.");
        }
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        int offset = 0;
        foreach (var t in targets)
        {
            int n = (int)t.numel();
            var src = tensor(flat.Slice(offset, n).ToArray(), t.shape);
            t.copy_(src);
            offset += n;
        }
    }

    public void Dispose()
    {
        foreach (var t in _m.Concat(_v))
        {
            t.Dispose();
        }
        Model.Dispose();
        _flatParameters?.Dispose();
        _flatM?.Dispose();
        _flatV?.Dispose();
    }
}

/// <summary>
/// Process-wide cache of replicas by model shape and device, so a worker does not rebuild its
/// modules every round. Thread-safe: a rented replica belongs to one task until returned.
/// </summary>
public static class ReplicaPool
{
    private static readonly ConcurrentDictionary<(ModelConfig, string), ConcurrentBag<Replica>> s_pool = new();

    public static Replica Rent(ModelConfig config, Device device)
    {
        var bag = s_pool.GetOrAdd((config, device.ToString()), _ => new ConcurrentBag<Replica>());
        return bag.TryTake(out var r) ? r : new Replica(config, device);
    }

    public static void Return(Replica replica)
    {
        ArgumentNullException.ThrowIfNull(replica);
        s_pool.GetOrAdd((replica.Model.Config, replica.Device.ToString()), _ => new ConcurrentBag<Replica>()).Add(replica);
    }
}
