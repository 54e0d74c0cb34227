namespace SparkAnomaly.Evaluation;

/// <summary>
/// Event-wise (range overlap) counts. A true event is a maximal run of anomalous rows; it is detected
/// when at least one alarm falls inside it. A predicted alarm segment is a maximal run of flagged rows;
/// it is a false alarm when it overlaps no true event. Counts are summed across series
/// (<see cref="Add"/>) before the ratios are taken.
/// </summary>
/// <param name="TrueEvents">Number of true anomaly events.</param>
/// <param name="DetectedEvents">True events with at least one alarm inside.</param>
/// <param name="AlarmSegments">Number of predicted alarm segments.</param>
/// <param name="FalseAlarmSegments">Predicted alarm segments that overlap no true event.</param>
public sealed record EventCounts(long TrueEvents, long DetectedEvents, long AlarmSegments, long FalseAlarmSegments)
{
    /// <summary>No events at all; the identity of <see cref="Add"/>.</summary>
    public static EventCounts Zero { get; } = new(0, 0, 0, 0);

    /// <summary>Share of alarm segments that overlap a true event; 0 when there is no alarm.</summary>
    public double Precision =>
        AlarmSegments == 0 ? 0 : (double)(AlarmSegments - FalseAlarmSegments) / AlarmSegments;

    /// <summary>Share of true events that were detected; 0 when there is no true event.</summary>
    public double Recall => TrueEvents == 0 ? 0 : (double)DetectedEvents / TrueEvents;

    /// <summary>Harmonic mean of <see cref="Precision"/> and <see cref="Recall"/>; 0 when both are 0.</summary>
    public double F1
    {
        get
        {
            double p = Precision, r = Recall;
            return p + r == 0 ? 0 : 2 * p * r / (p + r);
        }
    }

    /// <summary>Element-wise sum, to pool counts over series.</summary>
    public EventCounts Add(EventCounts other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new EventCounts(
            TrueEvents + other.TrueEvents,
            DetectedEvents + other.DetectedEvents,
            AlarmSegments + other.AlarmSegments,
            FalseAlarmSegments + other.FalseAlarmSegments);
    }
}
