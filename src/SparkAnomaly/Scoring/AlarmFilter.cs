namespace SparkAnomaly.Scoring;

/// <summary>
/// Offline post-processing of a thresholded alarm sequence: first runs separated by at most
/// <see cref="MergeGap"/> normal steps are joined, then runs shorter than <see cref="MinDuration"/> steps are
/// dropped. Merging goes first so that a flapping alarm (on, off, on) counts as one run and can survive the
/// duration filter. The default filter changes nothing.
/// </summary>
/// <remarks>
/// The filter sees the whole sequence: a kept run keeps its first steps, which a live system could only
/// confirm <see cref="MinDuration"/> − 1 steps later. Account for that delay when reading time to detect.
/// </remarks>
/// <param name="MinDuration">Shortest alarm run kept, in steps (≥ 1; 1 keeps every run).</param>
/// <param name="MergeGap">Longest run of normal steps between two alarm runs that is filled in (≥ 0; 0 merges nothing).</param>
public sealed record AlarmFilter(int MinDuration = 1, int MergeGap = 0)
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
    }

    /// <summary>Merges gaps, then drops short runs; returns a new array.</summary>
    /// <exception cref="SparkAnomalyException">The filter's parameters are out of range.</exception>
    public bool[] Apply(ReadOnlySpan<bool> alarms)
    {
        Validate();
        return DropShort(MergeGaps(alarms, MergeGap), MinDuration);
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
