using SparkAnomaly.Data;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Evaluation;

/// <summary>Evaluation of <c>Detector.Score</c>'s result in one call, as the CLI's <c>demo</c> and <c>score</c> report it.</summary>
public static class ScoredEvaluation
{
    /// <summary>
    /// Point-wise, point-adjusted and event metrics, ROC/PR-AUC and time to detect over the labelled rows of
    /// <paramref name="scored"/>; rows marked <c>split=train</c> are left out where the data has a split column.
    /// Series without labels are ignored.
    /// </summary>
    public static EvaluationReport Evaluate(IReadOnlyList<ScoredSeries> scored)
    {
        ArgumentNullException.ThrowIfNull(scored);
        var series = scored.Where(s => s.Series.Labels is not null)
            .Select(s => new EvaluationSeries(s.Score, s.IsAnomaly, s.Series.Labels!.Select(l => l == 1).ToArray(), Counted(s.Series))).ToList();
        if (series.Count == 0)
        {
            throw new SparkAnomalyException("no scored series has labels, so there is nothing to evaluate against. Add a 0/1 label column (--label-column).");
        }
        if (!series.Any(s => s.Labelled!.Contains(true)))
        {
            throw new SparkAnomalyException("every labelled row is split=train, and those rows set the threshold, so there is nothing fair to evaluate. Score data with labelled rows outside split=train.");
        }
        return Metrics.Evaluate(series);
    }

    /// <summary>
    /// Whether <see cref="Evaluate"/> has a row to count: a labelled row outside <c>split=train</c>. Data whose labelled
    /// rows were all trained on has labels but nothing to evaluate, and a report of zeros would read as a result.
    /// </summary>
    public static bool HasRowsToEvaluate(IReadOnlyList<ScoredSeries> scored)
    {
        ArgumentNullException.ThrowIfNull(scored);
        return scored.Any(s => s.Series.Labels is not null && Counted(s.Series).Contains(true));
    }

    private static bool[] Counted(Series s) => Enumerable.Range(0, s.Length)
        .Select(r => s.Labels![r] != Series.NoLabel && (s.Splits is null || s.Splits[r] != RowSplit.Train)).ToArray();
}
