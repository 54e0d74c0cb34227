using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SparkAnomaly.Model;

/// <summary>Shape of the LSTM-VAE. Defaults are the reference workload (T 64, hidden 64, latent 16).</summary>
public sealed record ModelConfig(int Channels, int WindowLength = 64, int HiddenSize = 64, int LatentSize = 16)
{
    /// <summary>Refuses shapes that cannot be built or would not fit in memory.</summary>
    public void Validate()
    {
        // Named as conf/train.json spells them, the place a user sets them.
        Check(Channels, "channels", 1, 4096);
        Check(WindowLength, "windowLength", 2, 100_000);
        Check(HiddenSize, "hiddenSize", 1, 8192);
        Check(LatentSize, "latentSize", 1, 8192);
    }

    private static void Check(int value, string name, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new SparkAnomalyException($"model {name} is {value}; it must be between {min} and {max}.");
        }
    }
}

/// <summary>
/// LSTM variational autoencoder over windows [batch, T, F]: an encoder LSTM's last hidden state gives
/// μ and log σ² of a latent z; z, repeated over the T steps, drives a decoder LSTM whose output is
/// mapped back to F channels. Field names are the parameter names (enc.weight_ih_l0, mu.weight, ...),
/// the same as the PyTorch peer's, so a rename is a model-format change.
/// </summary>
public sealed class LstmVae : nn.Module<Tensor, Tensor, (Tensor Reconstruction, Tensor Mu, Tensor LogVar)>
{
    private readonly LSTM enc;
    private readonly Linear mu;
    private readonly Linear logvar;
    private readonly LSTM dec;
    private readonly Linear @out;

    public LstmVae(ModelConfig config)
        : base(nameof(LstmVae))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        // Module initialisation draws from libtorch's global generator; the gate keeps a concurrent
        // construction from consuming draws between another thread's manual_seed and its own init.
        lock (GlobalGeneratorGate)
        {
            enc = nn.LSTM(config.Channels, config.HiddenSize, batchFirst: true);
            mu = nn.Linear(config.HiddenSize, config.LatentSize);
            logvar = nn.Linear(config.HiddenSize, config.LatentSize);
            dec = nn.LSTM(config.LatentSize, config.HiddenSize, batchFirst: true);
            @out = nn.Linear(config.HiddenSize, config.Channels);
        }
        RegisterComponents();
    }

    /// <summary>Held by everything in this library that draws from libtorch's global generator.</summary>
    internal static object GlobalGeneratorGate { get; } = new();

    public ModelConfig Config { get; }

    /// <summary>μ and log σ² of q(z|x) for windows x [B, T, F].</summary>
    public (Tensor Mu, Tensor LogVar) Encode(Tensor x)
    {
        var (_, h, c) = enc.call(x);
        c.Dispose();
        var last = h.select(0, -1);
        return (mu.call(last), logvar.call(last));
    }

    /// <summary>Reconstruction mean [B, T, F] from latents z [B, Z].</summary>
    public Tensor Decode(Tensor z)
    {
        var repeated = z.unsqueeze(1).expand(z.shape[0], Config.WindowLength, Config.LatentSize);
        var (y, h, c) = dec.call(repeated);
        h.Dispose();
        c.Dispose();
        return @out.call(y);
    }

    /// <summary>Training pass: z = μ + ε·exp(½ log σ²) with the caller's noise ε [B, Z], so runs are reproducible.</summary>
    public override (Tensor Reconstruction, Tensor Mu, Tensor LogVar) forward(Tensor x, Tensor eps)
    {
        var (m, lv) = Encode(x);
        var z = m + eps * torch.exp(0.5 * lv);
        return (Decode(z), m, lv);
    }

    /// <summary>Deterministic reconstruction (z = μ), for scoring.</summary>
    public Tensor Reconstruct(Tensor x)
    {
        var (m, lv) = Encode(x);
        lv.Dispose();
        return Decode(m);
    }

    /// <summary>
    /// ELBO loss per window, averaged over the batch: Σ_{t,f}(x̂ − x)² + β·KL(q(z|x) ‖ N(0, I)).
    /// Returns (loss, reconstruction, kl) as scalars.
    /// </summary>
    public static (Tensor Loss, Tensor Reconstruction, Tensor Kl) Elbo(Tensor xhat, Tensor x, Tensor mu, Tensor logVar, double beta)
    {
        var recon = (xhat - x).square().sum(new long[] { 1, 2 }).mean();
        var kl = (-0.5 * (1 + logVar - mu.square() - logVar.exp()).sum(1)).mean();
        return (recon + beta * kl, recon, kl);
    }
}
