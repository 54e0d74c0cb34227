using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SparkAnomaly.Benchmarks;

/// <summary>The reference workload of bench/peer/WORKLOAD.md: constants and analytic FLOPs.</summary>
internal static class Workload
{
    public const int B = 64, T = 64, F = 8, H = 64, Z = 16;
    public const int Batches = 32;          // 2048 windows, cycled
    public const double LearningRate = 1e-3;
    public const long Seed = 1234;

    /// <summary>Forward FLOPs per window (GEMM terms, multiply-add = 2).</summary>
    public const long ForwardFlopsPerWindow =
        (long)T * (2 * 4 * H * F + 2 * 4 * H * H)
        + 2 * (2 * H * Z)
        + (long)T * (2 * 4 * H * Z + 2 * 4 * H * H)
        + (long)T * (2 * H * F);

    public const long TrainFlopsPerWindow = 3 * ForwardFlopsPerWindow;   // 15.15 MFLOP
    public const long ScoreFlopsPerWindow = ForwardFlopsPerWindow;       // 5.05 MFLOP

    /// <summary>Sine mixtures plus noise, [n, T, F] (make_data of the peer).</summary>
    public static Tensor MakeData(long n, long seed)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)seed);
        var t = arange(T, dtype: ScalarType.Float32);
        var freq = rand(new long[] { n, F, 3, 1 }, generator: g) * 0.2 + 0.01;
        var phase = rand(new long[] { n, F, 3, 1 }, generator: g) * (2 * Math.PI);
        var amp = rand(new long[] { n, F, 3, 1 }, generator: g);
        var x = (amp * sin(2 * Math.PI * freq * t + phase)).sum(2);
        x = x + 0.1 * randn(new long[] { n, F, T }, generator: g);
        return x.transpose(1, 2).contiguous().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The raw baseline: the same LSTM-VAE as nn modules with torch.optim.Adam, no framework code at all
/// (the approach of bench/peer/torchsharp/Program.cs).
/// </summary>
internal sealed class RawLstmVae : nn.Module
{
    private readonly LSTM enc;
    private readonly Linear mu;
    private readonly Linear logvar;
    private readonly LSTM dec;
    private readonly Linear @out;

    public RawLstmVae()
        : base(nameof(RawLstmVae))
    {
        enc = nn.LSTM(Workload.F, Workload.H, batchFirst: true);
        mu = nn.Linear(Workload.H, Workload.Z);
        logvar = nn.Linear(Workload.H, Workload.Z);
        dec = nn.LSTM(Workload.Z, Workload.H, batchFirst: true);
        @out = nn.Linear(Workload.H, Workload.F);
        RegisterComponents();
    }

    public (Tensor Mu, Tensor LogVar) Encode(Tensor x)
    {
        var (_, h, _) = enc.call(x);
        var last = h.select(0, -1);
        return (mu.call(last), logvar.call(last));
    }

    public Tensor Decode(Tensor z)
    {
        var zr = z.unsqueeze(1).expand(z.shape[0], Workload.T, Workload.Z);
        var (y, _, _) = dec.call(zr);
        return @out.call(y);
    }

    public (Tensor XHat, Tensor Mu, Tensor LogVar) Forward(Tensor x, Tensor eps)
    {
        var (m, lv) = Encode(x);
        var z = m + eps * exp(0.5 * lv);
        return (Decode(z), m, lv);
    }

    public static Tensor Loss(Tensor xhat, Tensor x, Tensor mu, Tensor logvar)
    {
        var recon = (xhat - x).square().sum(new long[] { 1, 2 }).mean();
        var kl = (-0.5 * (1 + logvar - mu * mu - exp(logvar)).sum(1)).mean();
        return recon + kl;
    }
}
