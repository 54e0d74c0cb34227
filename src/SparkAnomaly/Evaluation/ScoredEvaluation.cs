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
        if (NothingToEvaluate(scored) is string why)
        {
            throw new SparkAnomalyException(why);
        }
        return Metrics.Evaluate(scored.Where(s => s.Series.Labels is not null)
            .Select(s => new EvaluationSeries(s.Score, s.IsAnomaly, s.Series.Labels!.Select(l => l == 1).ToArray(), Counted(s.Series))).ToList());
    }

    /// <summary>
    /// Why <see cref="Evaluate"/> has no row to count (null when it has one): no scored row has a label, or every
    /// labelled row is <c>split=train</c>. A report of zeros for such data would read as a result.
    /// </summary>
    public static string? NothingToEvaluate(IReadOnlyList<ScoredSeries> scored)
    {
        ArgumentNullException.ThrowIfNull(scored);
        var labelled = scored.Where(s => s.Series.Labels is not null && s.Series.Labels.Any(l => l != Series.NoLabel)).ToList();
        if (labelled.Count == 0)
        {
            return "no scored row has a label, so there is nothing to evaluate against. Add a 0/1 label column (--label-column).";
        }
        return labelled.Any(s => Counted(s.Series).Contains(true))
            ? null
            : "every labelled row is split=train, and those rows set the threshold, so there is nothing fair to evaluate. Score data with labelled rows outside split=train.";
    }

    private static bool[] Counted(Series s) => Enumerable.Range(0, s.Length)
        .Select(r => s.Labels![r] != Series.NoLabel && (s.Splits is null || s.Splits[r] != RowSplit.Train)).ToArray();
}
