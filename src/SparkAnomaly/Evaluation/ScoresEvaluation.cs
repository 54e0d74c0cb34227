using SparkAnomaly.Data;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Evaluation;

/// <summary>
/// Evaluates a scores file: which rows count (labelled rows, and only the test rows when a split says
/// so), labels joined from a separate file, and the <see cref="EvaluationReport"/> over them.
/// </summary>
public static class ScoresEvaluation
{
    /// <summary>
    /// The channels that stood out most in a series, most first: ranked by the sum over its rows of each contribution
    /// above the channel's own median. A channel whose error is always high is not what raised an alarm, and under the
    /// reconstruction-probability rules every channel's contribution carries its own constant ½·log 2πσ².
    /// </summary>
    public static IReadOnlyList<int> DrivingChannels(ScoresSeries s, int channels, int count)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (channels <= 0 || s.Contributions.Length != s.Length * channels)
        {
            return Array.Empty<int>();
        }
        return Enumerable.Range(0, channels)
            .Select(c =>
            {
                var values = Enumerable.Range(0, s.Length).Select(r => s.Contributions[r * channels + c]).ToArray();
                var sorted = values.Order().ToArray();
                double median = sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
                return (Channel: c, Excess: values.Sum(v => Math.Max(0, v - median)));
            })
            .OrderByDescending(x => x.Excess)
            .ThenBy(x => x.Channel)
            .Take(count)
            .Select(x => x.Channel)
            .ToList();
    }

    /// <summary>
    /// Rows that count: a known label, and not <c>split=train</c> (training rows would flatter the model:
    /// its threshold was fitted on them).
    /// </summary>
    public static bool[] LabelledMask(ScoresSeries s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var mask = new bool[s.Length];
        for (int r = 0; r < s.Length; r++)
        {
            mask[r] = s.Labels[r] != Series.NoLabel && s.Splits[r] != RowSplit.Train;
        }
        return mask;
    }

    /// <summary>One <see cref="EvaluationSeries"/> per series that has at least one row that counts, in file order.</summary>
    public static IReadOnlyList<(ScoresSeries Series, EvaluationSeries Evaluation)> ToEvaluationSeries(ScoresData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var result = new List<(ScoresSeries, EvaluationSeries)>();
        foreach (var s in data.Series)
        {
            var mask = LabelledMask(s);
            if (!mask.Contains(true))
            {
                continue;
            }
            result.Add((s, new EvaluationSeries(s.Score, s.IsAnomaly, s.Labels.Select(l => l == 1).ToArray(), mask)));
        }
        return result;
    }

    /// <summary>The report over the rows that count.</summary>
    /// <exception cref="SparkAnomalyException">No row has a label (outside split=train).</exception>
    public static EvaluationReport Evaluate(ScoresData data)
    {
        var series = ToEvaluationSeries(data);
        if (series.Count == 0)
        {
            throw new SparkAnomalyException(
                $"scores file '{data.Source}' has no labelled row to evaluate (outside split=train). Pass --labels FILE with series_id,timestamp,label columns, or score data that has a label column.");
        }
        return Metrics.Evaluate(series.Select(s => s.Evaluation).ToList());
    }

    /// <summary>
    /// Replaces the labels of <paramref name="data"/> by those of a CSV or Parquet file with
    /// <c>series_id</c>, <c>timestamp</c> and <c>label</c> columns, joined on (series_id, timestamp).
    /// Rows with no match get no label. Timestamps are compared in the units the readers give
    /// (integers as written, date-times as Unix microseconds), so both files must use the same kind.
    /// </summary>
    /// <exception cref="SparkAnomalyException">The file cannot be read, or no row matches.</exception>
    public static ScoresData WithLabels(ScoresData data, string labelsPath)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(labelsPath);
        var map = LabelsFile.Read(labelsPath);
        long matched = 0;
        var series = data.Series.Select(s =>
        {
            var labels = new sbyte[s.Length];
            for (int r = 0; r < s.Length; r++)
            {
                if (map.TryGetValue((s.Id, s.Timestamps[r]), out var l))
                {
                    labels[r] = l;
                    matched++;
                }
                else
                {
                    labels[r] = Series.NoLabel;
                }
            }
            return s with { Labels = labels };
        }).ToList();
        if (matched == 0)
        {
            throw new SparkAnomalyException(
                $"labels file '{labelsPath}' matches no row of '{data.Source}' on (series_id, timestamp). Check that both use the same series ids and timestamp kind ({(data.DateTimeTimestamps ? "date-times" : "integers")} in the scores file).");
        }
        return data with { Series = series };
    }
}
