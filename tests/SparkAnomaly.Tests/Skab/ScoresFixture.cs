using SparkAnomaly.Data;
using SparkAnomaly.Model;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Tests.Skab;

/// <summary>
/// A scores.parquet with known arrays, written by the real <see cref="ScoresFile"/> writer without training
/// (the writer only needs the model's id and threshold), so evaluation tests run in milliseconds.
/// </summary>
internal static class ScoresFixture
{
    public const double Threshold = 0.5;

    /// <summary>Three series: two with labels and a train/test split, one without labels; ids s0, s1, s2 unless <paramref name="ids"/> names them.</summary>
    public static (SeriesSet Set, IReadOnlyList<ScoredSeries> Scored) Build(long seed = 7, IReadOnlyList<string>? ids = null)
    {
        var rng = new Random((int)seed);
        var series = new List<Series>();
        var scored = new List<ScoredSeries>();
        for (int k = 0; k < 3; k++)
        {
            int n = 120;
            var ts = Enumerable.Range(0, n).Select(i => 1_000L + i).ToArray();
            var values = Enumerable.Range(0, n * 2).Select(_ => (float)rng.NextDouble()).ToArray();
            sbyte[]? labels = k == 2 ? null : Enumerable.Range(0, n).Select(i => (sbyte)(i >= 60 + 10 * k && i < 90 + 5 * k ? 1 : 0)).ToArray();
            var splits = Enumerable.Range(0, n).Select(i => i < 40 ? RowSplit.Train : RowSplit.Test).ToArray();
            var s = new Series(ids?[k] ?? $"s{k}", ts, values, 2, labels, splits);
            var score = Enumerable.Range(0, n).Select(i => rng.NextDouble() * 0.6 + (labels is not null && labels[i] == 1 ? 0.3 : 0)).ToArray();
            var contrib = score.SelectMany(v => new[] { v * 0.25, v * 0.75 }).ToArray();
            series.Add(s);
            scored.Add(new ScoredSeries(s, score, contrib, score.Select(v => v > Threshold).ToArray()));
        }
        return (new SeriesSet(series, new[] { "a", "b" }, TimestampKind.Step, "fixture"), scored);
    }

    public static TrainedModel Model() => new(
        new ModelConfig(2, 4, 2, 1),
        new Normaliser(NormalisationKind.ZScore, new[] { "a", "b" }, new[] { 0f, 0f }, new[] { 1f, 1f }),
        new float[] { 1, 2, 3 },
        new ThresholdInfo("percentile:99", Threshold, 40),
        new TrainingProvenance
        {
            LibraryVersion = "test", DataSource = "fixture", DataFingerprint = "0", Seed = 1, Rounds = 1, Workers = 1,
            TrainingWindows = 1, FinalLoss = 0, CreatedUtc = "2026-01-01T00:00:00Z", ConfigJson = "{}",
        });

    public static string Write(string path, IReadOnlyList<string>? ids = null)
    {
        var (set, scored) = Build(ids: ids);
        ScoresFile.Save(path, Model(), scored, set.ChannelNames, set.TimestampKind);
        return path;
    }
}
