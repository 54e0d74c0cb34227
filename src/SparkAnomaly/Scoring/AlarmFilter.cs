namespace SparkAnomaly.Scoring;

/// <summary>
/// Post-processing of a thresholded alarm sequence, in this order: a step stays an alarm only if it and the
/// <see cref="Persistence"/> − 1 steps before it all exceeded the threshold; then runs separated by at most
/// <see cref="MergeGap"/> normal steps are joined; then runs shorter than <see cref="MinDuration"/> steps are
/// dropped. Merging goes before the duration filter so that a flapping alarm (on, off, on) counts as one run
/// and can survive it. The default filter changes nothing.
/// </summary>
/// <remarks>
/// Persistence is causal (the "k consecutive exceedances" rule of control charts; SKAB's reference Conv-AE
/// pipeline flags a row only when all its covering windows exceed): a live system can apply it as the data
/// arrive, and the first P − 1 steps of every run are given up. The other two filters see the whole
/// sequence: a run kept by <see cref="MinDuration"/> keeps its first steps, which a live system could only
/// confirm <see cref="MinDuration"/> − 1 steps later. Account for that delay when reading time to detect.
/// </remarks>
/// <param name="MinDuration">Shortest alarm run kept, in steps (≥ 1; 1 keeps every run).</param>
/// <param name="MergeGap">Longest run of normal steps between two alarm runs that is filled in (≥ 0; 0 merges nothing).</param>
/// <param name="Persistence">Consecutive exceedances a step needs to alarm, counting itself (≥ 1; 1 keeps every exceedance).</param>
public sealed record AlarmFilter(int MinDuration = 1, int MergeGap = 0, int Persistence = 1)
{
    /// <summary>The filter that changes nothing.</summary>
    public static AlarmFilter None { get; } = new();

    /// <summary>Checks the parameter ranges.</summary>
    /// <exception cref="SparkAnomalyException">A parameter is out of range.</exception>
    public void Validate()
    {
        if (MinDuration < 1)
        {
            throw new SparkAnomalyException($"Alarm minimum duration {MinDuration} is below 1 step; pass 1 to keep every alarm.");
        }
        if (MergeGap < 0)
        {
            throw new SparkAnomalyException($"Alarm merge gap {MergeGap} is negative; pass 0 to merge nothing.");
        }
        if (Persistence < 1)
        {
            throw new SparkAnomalyException($"Alarm persistence {Persistence} is below 1 step; pass 1 to keep every exceedance.");
        }
    }

    /// <summary>Applies persistence, merges gaps, then drops short runs; returns a new array.</summary>
    /// <exception cref="SparkAnomalyException">The filter's parameters are out of range.</exception>
    public bool[] Apply(ReadOnlySpan<bool> alarms)
    {
        Validate();
        return DropShort(MergeGaps(Persist(alarms, Persistence), MergeGap), MinDuration);
    }

    /// <summary>
    /// Keeps an alarm at step i only when steps i − <paramref name="persistence"/> + 1 … i all alarm; the first
    /// persistence − 1 steps of the sequence never alarm (their history is unknown).
    /// </summary>
    public static bool[] Persist(ReadOnlySpan<bool> alarms, int persistence)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(persistence, 1);
        var result = new bool[alarms.Length];
        int run = 0;
        for (int i = 0; i < alarms.Length; i++)
        {
            run = alarms[i] ? run + 1 : 0;
            result[i] = run >= persistence;
        }
        return result;
    }

    /// <summary>
    /// Fills every run of at most <paramref name="maxGap"/> normal steps that lies between two alarms. Normal
    /// steps before the first or after the last alarm are never filled.
    /// </summary>
    public static bool[] MergeGaps(ReadOnlySpan<bool> alarms, int maxGap)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxGap);
        var result = alarms.ToArray();
        int lastAlarm = -1;
        for (int i = 0; i < result.Length; i++)
        {
            if (!result[i])
            {
                continue;
            }
            int gap = i - lastAlarm - 1;
            if (lastAlarm >= 0 && gap > 0 && gap <= maxGap)
            {
                result.AsSpan(lastAlarm + 1, gap).Fill(true);
            }
            lastAlarm = i;
        }
        return result;
    }

    /// <summary>Clears every alarm run shorter than <paramref name="minDuration"/> steps.</summary>
    public static bool[] DropShort(ReadOnlySpan<bool> alarms, int minDuration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minDuration, 1);
        var result = alarms.ToArray();
        int i = 0;
        while (i < result.Length)
        {
            if (!result[i])
            {
                i++;
                continue;
            }
            int start = i;
            while (i < result.Length && result[i])
            {
                i++;
            }
            if (i - start < minDuration)
            {
                result.AsSpan(start, i - start).Clear();
            }
        }
        return result;
    }
}
