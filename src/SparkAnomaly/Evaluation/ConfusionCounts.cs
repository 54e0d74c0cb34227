namespace SparkAnomaly.Evaluation;

/// <summary>
/// Point-wise confusion counts of a binary detector. Counts are summed, not averaged, across series
/// (<see cref="Add"/>), which is how SKAB scores its leaderboard. Every ratio is 0 when its denominator
/// is 0, so an empty or one-class evaluation never yields NaN.
/// </summary>
/// <param name="TP">Anomalous rows flagged as anomalous.</param>
/// <param name="FP">Normal rows flagged as anomalous.</param>
/// <param name="FN">Anomalous rows not flagged.</param>
/// <param name="TN">Normal rows not flagged.</param>
public sealed record ConfusionCounts(long TP, long FP, long FN, long TN)
{
    /// <summary>No rows at all; the identity of <see cref="Add"/>.</summary>
    public static ConfusionCounts Zero { get; } = new(0, 0, 0, 0);

    /// <summary>Number of rows counted.</summary>
    public long Total => TP + FP + FN + TN;

    /// <summary>
    /// F1 as SKAB defines it: TP / (TP + (FN + FP) / 2), which equals 2PR/(P+R) whenever both are
    /// defined; 0 when there is neither a true nor a predicted anomaly.
    /// </summary>
    /// <remarks>
    /// The operations run in the same order and precision as SKAB's numpy code, so the unrounded value
    /// is bit-identical to theirs and rounding it reproduces their table.
    /// </remarks>
    public double F1
    {
        get
        {
            double denominator = TP + (FN + FP) / 2.0;
            return denominator == 0 ? 0 : TP / denominator;
        }
    }

    /// <summary>TP / (TP + FP); 0 when nothing was flagged.</summary>
    public double Precision => TP + FP == 0 ? 0 : (double)TP / (TP + FP);

    /// <summary>TP / (TP + FN); 0 when there is no anomalous row.</summary>
    public double Recall => TP + FN == 0 ? 0 : (double)TP / (TP + FN);

    /// <summary>False alarm rate in percent, FP / (FP + TN) · 100 (SKAB); 0 when there is no normal row.</summary>
    public double Far => FP + TN == 0 ? 0 : (double)FP / (FP + TN) * 100;

    /// <summary>Missed alarm rate in percent, FN / (FN + TP) · 100 (SKAB); 0 when there is no anomalous row.</summary>
    public double Mar => FN + TP == 0 ? 0 : (double)FN / (FN + TP) * 100;

    /// <summary>Element-wise sum, to pool counts over series.</summary>
    public ConfusionCounts Add(ConfusionCounts other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new ConfusionCounts(TP + other.TP, FP + other.FP, FN + other.FN, TN + other.TN);
    }
}
