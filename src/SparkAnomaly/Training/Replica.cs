using System.Collections.Concurrent;
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
    private static readonly object s_initGate = new();
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _m;
    private readonly Tensor[] _v;

    public Replica(ModelConfig config, Device? device = null)
    {
        TorchRuntime.EnsureLoaded();
        Model = new LstmVae(config);
        Device = device ?? CPU;
        if (Device.type != DeviceType.CPU)
        {
            Model.to(Device);
        }
        _parameters = Model.parameters().ToArray();
        Shapes = Model.named_parameters().Select(p => (p.name, p.parameter.shape)).ToArray();
        ParameterCount = checked((int)_parameters.Sum(p => p.numel()));
        _m = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        _v = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
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
        lock (s_initGate)
        {
            torch.random.manual_seed(seed);
            using var model = new LstmVae(config);
            return Flatten(model.parameters());
        }
    }

    public float[] GetParameters() => Flatten(_parameters);

    public void SetParameters(ReadOnlySpan<float> flat) => Unflatten(flat, _parameters, "parameters");

    public UpdaterState GetUpdater() => new(Step, Flatten(_m), Flatten(_v));

    public void SetUpdater(UpdaterState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.FirstMoment.Length == 0 && state.SecondMoment.Length == 0)
        {
            ResetUpdater();
            return;
        }
        Unflatten(state.FirstMoment, _m, "Adam first moment");
        Unflatten(state.SecondMoment, _v, "Adam second moment");
        Step = state.Step;
    }

    public void ResetUpdater()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var t in _m.Concat(_v))
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
