using System.Collections.Concurrent;
using SparkAnomaly.Training;

namespace SparkAnomaly.Scoring;

/// <summary>Flat per-row scores, as an engine writes them back (one entry per scored time step).</summary>
public sealed record ScoredRows(string[] SeriesIds, long[] Timestamps, double[] Score, double[] Threshold, bool[] IsAnomaly, double[][] Contributions);

/// <summary>
/// The engine-agnostic scoring task: model bytes (as broadcast) plus one group's already-normalised rows
/// in, flat score rows out. Decoded models are cached per process by checksum — all tasks of an executor
/// are threads of one .NET process — and the cache is thread-safe.
/// </summary>
public static class ScoringWorker
{
    private const int MaxCachedModels = 4;
    private static readonly ConcurrentDictionary<ulong, TrainedModel> s_models = new();

    public static ScoredRows Score(byte[] modelBytes, ShardData rows)
    {
        ArgumentNullException.ThrowIfNull(modelBytes);
        ArgumentNullException.ThrowIfNull(rows);
        var model = Model(modelBytes);
        var series = rows.Series.Where(s => s.Length >= model.Model.WindowLength).ToList();
        var scored = Scorer.ScoreNormalised(model, series);
        int n = series.Sum(s => s.Length), f = model.Model.Channels, k = 0;
        var ids = new string[n];
        var ts = new long[n];
        var score = new double[n];
        var flags = new bool[n];
        var contributions = new double[n][];
        var thresholds = new double[n];
        for (int i = 0; i < series.Count; i++)
        {
            for (int r = 0; r < series[i].Length; r++, k++)
            {
                ids[k] = series[i].Id;
                ts[k] = series[i].Timestamps[r];
                score[k] = scored[i].Score[r];
                thresholds[k] = model.Threshold.For(series[i].Id);
                flags[k] = score[k] > thresholds[k];
                contributions[k] = scored[i].Contributions.AsSpan(r * f, f).ToArray();
            }
        }
        return new ScoredRows(ids, ts, score, thresholds, flags, contributions);
    }

    /// <summary>The decoded model for these bytes, from the process cache when seen before.</summary>
    public static TrainedModel Model(byte[] modelBytes)
    {
        ulong key = Hashing.Checksum(modelBytes);
        if (s_models.TryGetValue(key, out var cached))
        {
            return cached;
        }
        var model = TrainedModel.FromBytes(modelBytes);
        if (s_models.Count >= MaxCachedModels)
        {
            s_models.Clear();   // a long-lived executor scoring many models keeps only recent ones
        }
        return s_models.GetOrAdd(key, model);
    }
}
