using System.Runtime.InteropServices;
using SparkAnomaly.Data;
using SparkAnomaly.Model;
using SparkAnomaly.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SparkAnomaly.Scoring;

/// <summary>Per-time-step scores of one series.</summary>
public sealed record ScoredSeries(Series Series, double[] Score, double[] Contributions, bool[] IsAnomaly)
{
    /// <summary>The threshold this series was flagged with (its own, or the model's global one).</summary>
    public double Threshold { get; init; } = double.NaN;

    /// <summary>Channel contribution of row <paramref name="row"/> (row-major [rows × channels]).</summary>
    public ReadOnlySpan<double> ContributionsAt(int row) => Contributions.AsSpan(row * Series.Channels, Series.Channels);
}

/// <summary>How a window's reconstruction error becomes per-time-step scores.</summary>
public enum ScoreRule
{
    /// <summary>
    /// Default. A step's score is the mean, over every window covering it, of that window's error
    /// (mean over its T steps of the squared error summed over channels). Smooth enough for
    /// point-wise labels; an alarm can start up to T−1 steps before the anomalous row enters a window's end.
    /// </summary>
    CoveringMean,

    /// <summary>
    /// Causal: a step's score is the error of the window that ends at it (the first T−1 steps take the
    /// first window's error). What a streaming detector can compute without looking ahead.
    /// </summary>
    LastStep,

    /// <summary>
    /// Reconstruction probability (An &amp; Cho 2015): a window's score is the negative Gaussian
    /// log-likelihood of x under the decoder, averaged over <see cref="Scorer.ReconstructionSamples"/>
    /// latent samples z ~ q(z|x), per channel: mean over T of ½(x − x̂)²/σ² + ½·log 2πσ², where σ² is the
    /// channel's residual variance fitted on the training rows (<see cref="ThresholdInfo.ChannelVariance"/>;
    /// 1 for models that have none). Steps get the covering-window mean, as <see cref="CoveringMean"/>.
    /// Samples use a fixed seed, so scores are reproducible.
    /// </summary>
    ReconstructionProbability,

    /// <summary>
    /// Causal reconstruction probability: the window score of <see cref="ReconstructionProbability"/> (with the fitted
    /// variance), mapped to steps as <see cref="LastStep"/> — the window that ends at the step — so that, unlike the
    /// covering mean, a score never rises before the rows that raise it.
    /// </summary>
    ReconstructionProbabilityLastStep,
}

/// <summary>
/// Reconstruction-error scores per time step. Every window (stride 1 by default) is reconstructed
/// with z = μ; its error per channel is the mean over its T steps of (x̂ − x)². The rule
/// (<see cref="ScoreRule"/>) maps window errors to steps; the per-channel terms are the step's
/// contributions, and the score is their sum, so a user sees which sensor drove an alarm.
/// </summary>
public static class Scorer
{
    public const int DefaultBatchSize = 256;

    /// <summary>True for the rules that score a window by its negative log-likelihood (and so need a fitted variance).</summary>
    public static bool IsReconstructionProbability(ScoreRule rule) => rule is ScoreRule.ReconstructionProbability or ScoreRule.ReconstructionProbabilityLastStep;

    /// <summary>Latent samples L per window for <see cref="ScoreRule.ReconstructionProbability"/>.</summary>
    public const int ReconstructionSamples = 16;

    /// <summary>Seed of the latent samples: the same model and data always give the same scores.</summary>
    public const ulong ReconstructionSeed = 20150101;

    /// <summary>
    /// Smallest fitted residual variance (normalised units: a z-scored channel has training variance 1). A channel the
    /// model reconstructs almost exactly (a constant one, say) would otherwise turn any rounding error into a huge score.
    /// </summary>
    public const double MinResidualVariance = 1e-3;

    /// <summary>
    /// Largest normalised value the model sees when scoring (in training scales; training rows are never near it).
    /// An absurd reading (1e20 against a training spread of 1) would otherwise overflow the float32 squared error to
    /// ∞, and the covering mean of ∞ and ∞ is NaN: the most anomalous step would be scored NaN and not flagged.
    /// Clamped, it scores ~10¹² and is flagged like any other far-out value.
    /// </summary>
    public const float MaxNormalisedMagnitude = 1e6f;

    /// <summary>
    /// Each channel's residual variance σ² for <see cref="ScoreRule.ReconstructionProbability"/>, from its mean
    /// contribution m over some rows scored with unit variance: there m = ½·E[(x − x̂)²] + ½·log 2π, so
    /// σ² = 2m − log 2π, the maximum-likelihood variance of those residuals (at least <see cref="MinResidualVariance"/>).
    /// Rescoring the same rows with it makes each channel's mean ½(x − x̂)²/σ² exactly ½, as the samples are seeded.
    /// </summary>
    public static double[] ResidualVariance(ReadOnlySpan<double> unitVarianceMeanContributions)
    {
        var variance = new double[unitVarianceMeanContributions.Length];
        for (int c = 0; c < variance.Length; c++)
        {
            double v = 2 * unitVarianceMeanContributions[c] - Math.Log(2 * Math.PI);
            if (!double.IsFinite(v))
            {
                throw new SparkAnomalyException($"the residual variance of channel {c} cannot be fitted: its mean training score is {unitVarianceMeanContributions[c]}. The training data or the model holds non-finite values; check the input.");
            }
            variance[c] = Math.Max(v, MinResidualVariance);
        }
        return variance;
    }

    /// <summary>
    /// Scores raw (un-normalised) series with a trained model. Series shorter than the window cannot
    /// be scored; they are skipped and named in <paramref name="skipped"/>.
    /// </summary>
    public static IReadOnlyList<ScoredSeries> Score(TrainedModel model, SeriesSet data, out IReadOnlyList<string> skipped, AlarmFilter? alarms = null, int batchSize = DefaultBatchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var normalised = model.Normaliser.Apply(data);
        int t = model.Model.WindowLength;
        var tooShort = normalised.Series.Where(s => s.Length < t).Select(s => $"{s.Id} ({s.Length} rows)").ToList();
        skipped = tooShort;
        if (tooShort.Count == normalised.Series.Count)
        {
            throw new SparkAnomalyException(
                $"every series in '{data.Source}' is shorter than the model's window of {t} rows ({string.Join(", ", tooShort.Take(5))}). Score longer series, or train a model with a smaller --window.");
        }
        var scorable = Enumerable.Range(0, normalised.Series.Count).Where(i => normalised.Series[i].Length >= t).ToList();
        var results = ScoreNormalised(model, scorable.Select(i => normalised.Series[i]).ToList(), batchSize);
        return scorable.Select((i, k) =>
        {
            double threshold = model.Threshold.For(data.Series[i].Id);
            var flags = results[k].Score.Select(v => v > threshold).ToArray();
            return new ScoredSeries(data.Series[i], results[k].Score, results[k].Contributions, alarms is null ? flags : alarms.Apply(flags)) { Threshold = threshold };
        }).ToList();
    }

    /// <summary>
    /// Scores series that are already normalised (as an engine delivers them after applying the model's
    /// normaliser itself); every series must be at least one window long.
    /// </summary>
    public static IReadOnlyList<(double[] Score, double[] Contributions)> ScoreNormalised(TrainedModel model, IReadOnlyList<Series> normalised, int batchSize = DefaultBatchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(normalised);
        var rule = Enum.Parse<ScoreRule>(model.Threshold.ScoreRule, ignoreCase: true);
        var replica = ReplicaPool.Rent(model.Model, CPU);
        try
        {
            replica.SetParameters(model.Parameters);
            return normalised.Select(s => s.Length < model.Model.WindowLength
                ? throw new SparkAnomalyException($"series '{s.Id}' has {s.Length} rows, fewer than the model's window of {model.Model.WindowLength}.")
                : ScoreSeries(replica.Model, s, rule, model.Threshold.ChannelVariance, batchSize)).ToList();
        }
        finally
        {
            ReplicaPool.Return(replica);
        }
    }

    private static (double[] Score, double[] Contributions) ScoreSeries(LstmVae model, Series s, ScoreRule rule, double[]? channelVariance, int batchSize)
    {
        int t = model.Config.WindowLength, f = s.Channels, n = s.Length;
        int windows = n - t + 1;
        // windowError[w * f + c]: mean squared error of window w (starting at row w), channel c.
        var windowError = new double[windows * f];
        model.eval();
        using var noGrad = no_grad();
        // Windows are copied straight into one CPU tensor reused by every batch (no per-batch array,
        // no LOH allocation); each batch reads a view of its first b windows.
        using var input = empty(new long[] { Math.Min(batchSize, windows), t, f }, ScalarType.Float32).DetachFromDisposeScope();
        var buffer = MemoryMarshal.Cast<byte, float>(input.bytes);
        using var variance = channelVariance is null ? null : tensor(channelVariance.Select(v => (float)v).ToArray()).DetachFromDisposeScope();
        using var scope = NewDisposeScope();
        using var generator = IsReconstructionProbability(rule) ? new Generator(ReconstructionSeed) : null;
        for (int b0 = 0; b0 < windows; b0 += batchSize)
        {
            int b = Math.Min(batchSize, windows - b0);
            for (int i = 0; i < b; i++)
            {
                s.Rows(b0 + i, t).CopyTo(buffer.Slice(i * t * f, t * f));
            }
            foreach (ref float v in buffer.Slice(0, b * t * f))
            {
                v = Math.Clamp(v, -MaxNormalisedMagnitude, MaxNormalisedMagnitude);
            }
            var x = input.narrow(0, 0, b);
            var err = (IsReconstructionProbability(rule)
                ? NegativeLogLikelihood(model, x, generator!, variance)
                : (model.Reconstruct(x) - x).square().mean(new long[] { 1 })).contiguous();   // [b, f]
            var e = MemoryMarshal.Cast<byte, float>(err.bytes);
            for (int i = 0; i < b * f; i++)
            {
                windowError[b0 * f + i] = e[i];
            }
            scope.DisposeEverything();
        }
        var contrib = new double[n * f];
        // The window that ends at the step, or the mean of the windows covering it.
        if (rule is ScoreRule.LastStep or ScoreRule.ReconstructionProbabilityLastStep)
        {
            for (int row = 0; row < n; row++)
            {
                int w = Math.Max(0, row - t + 1);
                Array.Copy(windowError, w * f, contrib, row * f, f);
            }
        }
        else
        {
            // Windows covering row r start at max(0, r−T+1) … min(r, n−T): a running sum over starts.
            var prefix = new double[(windows + 1) * f];
            for (int w = 0; w < windows; w++)
            {
                for (int c = 0; c < f; c++)
                {
                    prefix[(w + 1) * f + c] = prefix[w * f + c] + windowError[w * f + c];
                }
            }
            for (int row = 0; row < n; row++)
            {
                int lo = Math.Max(0, row - t + 1), hi = Math.Min(row, windows - 1);
                for (int c = 0; c < f; c++)
                {
                    contrib[row * f + c] = (prefix[(hi + 1) * f + c] - prefix[lo * f + c]) / (hi - lo + 1);
                }
            }
        }
        var score = new double[n];
        for (int row = 0; row < n; row++)
        {
            double total = 0;
            for (int c = 0; c < f; c++)
            {
                total += contrib[row * f + c];
            }
            score[row] = total;
        }
        return (score, contrib);
    }

    /// <summary>Per window and channel: −mean over L samples z ~ q(z|x) of the mean over T of log N(x; x̂(z), σ²) (σ² = 1 when <paramref name="variance"/> is null).</summary>
    private static Tensor NegativeLogLikelihood(LstmVae model, Tensor x, Generator generator, Tensor? variance)
    {
        var (mu, logVar) = model.Encode(x);
        var std = (0.5 * logVar).exp();
        Tensor? total = null;
        for (int l = 0; l < ReconstructionSamples; l++)
        {
            var eps = randn(mu.shape, generator: generator);
            var squared = (model.Decode(mu + eps * std) - x).square();   // [b, T, f]
            var nll = variance is null
                ? 0.5 * squared + 0.5 * Math.Log(2 * Math.PI)
                : 0.5 * squared / variance + 0.5 * (2 * Math.PI * variance).log();
            var perChannel = nll.mean(new long[] { 1 });
            total = total is null ? perChannel : total + perChannel;
        }
        return (total! / ReconstructionSamples).contiguous();
    }
}
