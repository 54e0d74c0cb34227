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
        var series = scored.Where(s => s.Series.Labels is not null).Select(s =>
        {
            var labels = s.Series.Labels!;
            var labelled = Enumerable.Range(0, s.Series.Length)
                .Select(r => labels[r] != Series.NoLabel && (s.Series.Splits is null || s.Series.Splits[r] != RowSplit.Train)).ToArray();
            return new EvaluationSeries(s.Score, s.IsAnomaly, labels.Select(l => l == 1).ToArray(), labelled);
        }).ToList();
        if (series.Count == 0)
        {
            throw new SparkAnomalyException("no scored series has labels, so there is nothing to evaluate against. Add a 0/1 label column (--label-column).");
        }
        return Metrics.Evaluate(series);
    }
}
