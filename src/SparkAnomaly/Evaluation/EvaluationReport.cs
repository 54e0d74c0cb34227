namespace SparkAnomaly.Evaluation;

/// <summary>
/// One series to evaluate: per-row outputs of a detector and the ground truth, all aligned row by row.
/// </summary>
/// <param name="Scores">Anomaly scores (higher = more anomalous), or <see langword="null"/> when only
/// binary predictions exist; ROC-AUC and PR-AUC are then not reported.</param>
/// <param name="Predicted">Alarms after thresholding (and any alarm filtering).</param>
/// <param name="Actual">True anomaly labels.</param>
/// <param name="Labelled">Rows whose label is known; <see langword="null"/> means all. Unlabelled rows are
/// left out of every metric.</param>
public sealed record EvaluationSeries(double[]? Scores, bool[] Predicted, bool[] Actual, bool[]? Labelled = null);

/// <summary>
/// Everything <see cref="Metrics.Evaluate"/> reports. Point-wise counts are primary; the point-adjusted
/// counts are reported beside them and must be labelled as such wherever they are shown.
/// </summary>
/// <param name="SeriesCount">Number of series evaluated.</param>
/// <param name="PointWise">Point-wise counts summed over series (primary; SKAB's protocol).</param>
/// <param name="PointAdjusted">Point-adjusted counts summed over series (see <see cref="Metrics.PointAdjusted"/>).</param>
/// <param name="Events">Event-wise counts summed over series.</param>
/// <param name="RocAuc">ROC-AUC over the pooled scores; <see langword="null"/> without scores or with one class only.</param>
/// <param name="PrAuc">PR-AUC (average precision) over the pooled scores; <see langword="null"/> without scores or anomalies.</param>
/// <param name="MeanTimeToDetect">Mean steps from event start to first alarm, over detected events; <see langword="null"/> if none.</param>
/// <param name="MedianTimeToDetect">Median of the same; <see langword="null"/> if none.</param>
/// <param name="TimesToDetect">Per true event, series by series in input order: steps to detection, or null if missed.</param>
public sealed record EvaluationReport(
    int SeriesCount,
    ConfusionCounts PointWise,
    ConfusionCounts PointAdjusted,
    EventCounts Events,
    double? RocAuc,
    double? PrAuc,
    double? MeanTimeToDetect,
    double? MedianTimeToDetect,
    int?[] TimesToDetect)
{
    /// <summary>Point-wise F1 (SKAB's definition); the headline number.</summary>
    public double F1 => PointWise.F1;

    /// <summary>Point-wise false alarm rate in percent.</summary>
    public double Far => PointWise.Far;

    /// <summary>Point-wise missed alarm rate in percent.</summary>
    public double Mar => PointWise.Mar;

    /// <summary>Point-ADJUSTED F1; optimistic by construction, never a substitute for <see cref="F1"/>.</summary>
    public double PointAdjustedF1 => PointAdjusted.F1;

    /// <summary>Event-wise F1.</summary>
    public double EventF1 => Events.F1;
}
