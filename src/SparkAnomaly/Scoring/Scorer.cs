using SparkAnomaly.Data;
using SparkAnomaly.Model;
using SparkAnomaly.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SparkAnomaly.Scoring;

/// <summary>Per-time-step scores of one series.</summary>
public sealed record ScoredSeries(Series Series, double[] Score, double[] Contributions, bool[] IsAnomaly)
{
    /// <summary>Channel contribution of row <paramref name="row"/> (row-major [rows × channels]).</summary>
    public ReadOnlySpan<double> ContributionsAt(int row) => Contributions.AsSpan(row * Series.Channels, Series.Channels);
}

/// <summary>
/// Reconstruction-error scores per time step. Every window (stride 1 by default) is reconstructed
/// with z = μ; the squared error of step t, channel f, is averaged over all windows covering t
/// (documented rule: mean over covering windows). The step's score is the sum over channels, and the
/// per-channel terms are its contributions, so a user sees which sensor drove an alarm.
/// </summary>
public static class Scorer
{
    public const int DefaultBatchSize = 256;

    /// <summary>
    /// Scores raw (un-normalised) series with a trained model. Series shorter than the window cannot
    /// be scored; they are skipped and named in <paramref name="skipped"/>.
    /// </summary>
    public static IReadOnlyList<ScoredSeries> Score(TrainedModel model, SeriesSet data, out IReadOnlyList<string> skipped, int stride = 1, int batchSize = DefaultBatchSize)
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
        var replica = ReplicaPool.Rent(model.Model, CPU);
        try
        {
            replica.SetParameters(model.Parameters);
            var result = new List<ScoredSeries>();
            for (int i = 0; i < normalised.Series.Count; i++)
            {
                var s = normalised.Series[i];
                if (s.Length < t)
                {
                    continue;
                }
                var (score, contrib) = ScoreSeries(replica.Model, s, stride, batchSize);
                var flags = score.Select(v => v > model.Threshold.Value).ToArray();
                result.Add(new ScoredSeries(data.Series[i], score, contrib, flags));
            }
            return result;
        }
        finally
        {
            ReplicaPool.Return(replica);
        }
    }

    private static (double[] Score, double[] Contributions) ScoreSeries(LstmVae model, Series s, int stride, int batchSize)
    {
        int t = model.Config.WindowLength, f = s.Channels, n = s.Length;
        var starts = new List<int>();
        for (int st = 0; st + t <= n; st += stride)
        {
            starts.Add(st);
        }
        if (starts[^1] != n - t)
        {
            starts.Add(n - t);   // the tail is always covered
        }
        var sum = new double[n * f];
        var cover = new int[n];
        var input = new float[Math.Min(batchSize, starts.Count) * t * f];
        model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        for (int b0 = 0; b0 < starts.Count; b0 += batchSize)
        {
            int b = Math.Min(batchSize, starts.Count - b0);
            for (int i = 0; i < b; i++)
            {
                s.Rows(starts[b0 + i], t).CopyTo(input.AsSpan(i * t * f, t * f));
            }
            var x = tensor(input.AsSpan(0, b * t * f).ToArray(), new long[] { b, t, f });
            var err = (model.Reconstruct(x) - x).square().contiguous();
            var e = err.data<float>().ToArray();
            for (int i = 0; i < b; i++)
            {
                int start = starts[b0 + i];
                for (int r = 0; r < t; r++)
                {
                    int row = start + r;
                    cover[row]++;
                    int src = (i * t + r) * f, dst = row * f;
                    for (int c = 0; c < f; c++)
                    {
                        sum[dst + c] += e[src + c];
                    }
                }
            }
            scope.DisposeEverything();
        }
        var score = new double[n];
        for (int row = 0; row < n; row++)
        {
            double total = 0;
            for (int c = 0; c < f; c++)
            {
                sum[row * f + c] /= cover[row];
                total += sum[row * f + c];
            }
            score[row] = total;
        }
        return (score, sum);
    }
}
