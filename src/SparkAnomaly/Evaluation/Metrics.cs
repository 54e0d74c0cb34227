namespace SparkAnomaly.Evaluation;

/// <summary>
/// Detection metrics over one series. Every method takes an optional <c>labelled</c> mask: rows where it
/// is <see langword="false"/> have no ground truth and are left out of every count. An empty mask means
/// every row is labelled. An unlabelled row also ends any run it sits in, so segments never bridge rows
/// whose truth is unknown.
/// </summary>
public static class Metrics
{
    /// <summary>
    /// Point-wise confusion counts with no adjustment: each row is scored on its own. This is the
    /// primary metric (SKAB's leaderboard protocol).
    /// </summary>
    public static ConfusionCounts PointWise(
        ReadOnlySpan<bool> predicted, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled = default)
    {
        CheckLengths(predicted, actual, labelled);
        long tp = 0, fp = 0, fn = 0, tn = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (!IsLabelled(labelled, i))
            {
                continue;
            }
            if (actual[i])
            {
                if (predicted[i]) { tp++; } else { fn++; }
            }
            else
            {
                if (predicted[i]) { fp++; } else { tn++; }
            }
        }
        return new ConfusionCounts(tp, fp, fn, tn);
    }

    /// <summary>
    /// Point-ADJUSTED confusion counts (the protocol common since Xu et al. 2018, "Donut"): when any row of
    /// a true anomaly segment is flagged, every row of that segment counts as detected; rows outside true
    /// segments are scored point-wise. It inflates scores a lot (a random detector can look good on long
    /// events), so report it beside <see cref="PointWise"/>, labelled as point-adjusted, never instead of it.
    /// </summary>
    public static ConfusionCounts PointAdjusted(
        ReadOnlySpan<bool> predicted, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled = default)
    {
        CheckLengths(predicted, actual, labelled);
        var (p, a) = Effective(predicted, actual, labelled);
        foreach (var (start, end) in Segments(a))
        {
            if (p.AsSpan(start, end - start).Contains(true))
            {
                p.AsSpan(start, end - start).Fill(true);
            }
        }
        return PointWise(p, actual, labelled);
    }

    /// <summary>
    /// Event-wise (range overlap) counts: a true event is detected when any alarm falls inside it, and a
    /// predicted alarm segment is a false alarm when it overlaps no true event.
    /// </summary>
    public static EventCounts EventWise(
        ReadOnlySpan<bool> predicted, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled = default)
    {
        CheckLengths(predicted, actual, labelled);
        var (p, a) = Effective(predicted, actual, labelled);
        var events = Segments(a);
        var alarms = Segments(p);
        long detected = events.LongCount(e => p.AsSpan(e.Start, e.EndExclusive - e.Start).Contains(true));
        long falseAlarms = alarms.LongCount(s => !a.AsSpan(s.Start, s.EndExclusive - s.Start).Contains(true));
        return new EventCounts(events.Length, detected, alarms.Length, falseAlarms);
    }

    /// <summary>
    /// For each true event, in order: the number of steps from its first row to the first alarm inside it
    /// (0 when the first row is flagged), or <see langword="null"/> when the event was missed. Alarms before
    /// the event do not count: they are not a detection of it.
    /// </summary>
    public static int?[] TimeToDetect(
        ReadOnlySpan<bool> predicted, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled = default)
    {
        CheckLengths(predicted, actual, labelled);
        var (p, a) = Effective(predicted, actual, labelled);
        var events = Segments(a);
        var result = new int?[events.Length];
        for (int e = 0; e < events.Length; e++)
        {
            var (start, end) = events[e];
            int first = p.AsSpan(start, end - start).IndexOf(true);
            result[e] = first < 0 ? null : first;
        }
        return result;
    }

    /// <summary>Maximal runs of <see langword="true"/>, as (start, end exclusive) index pairs in order.</summary>
    public static (int Start, int EndExclusive)[] Segments(ReadOnlySpan<bool> flags)
    {
        var result = new List<(int, int)>();
        int i = 0;
        while (i < flags.Length)
        {
            int start = flags[i..].IndexOf(true);
            if (start < 0)
            {
                break;
            }
            start += i;
            int length = flags[start..].IndexOf(false);
            int end = length < 0 ? flags.Length : start + length;
            result.Add((start, end));
            i = end;
        }
        return result.ToArray();
    }

    /// <summary>
    /// Area under the ROC curve, exact (no binning): the probability that a random anomalous row scores
    /// higher than a random normal row, with ties counting one half. <see cref="double.NaN"/> when the
    /// labelled rows are all of one class, since the curve is then undefined.
    /// </summary>
    /// <exception cref="SparkAnomalyException">A labelled row has a NaN score.</exception>
    public static double RocAuc(
        ReadOnlySpan<double> scores, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled = default)
    {
        var (sorted, flags, positives, negatives) = SortDescending(scores, actual, labelled);
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }
        // Integer trapezoids over groups of tied scores: twice the area, in units of one (pos, neg) pair,
        // so the sum is exact and a tie group contributes exactly half a pair per tie.
        long twiceArea = 0, tp = 0, fp = 0;
        foreach (var (groupTp, groupFp) in TieGroups(sorted, flags))
        {
            twiceArea += groupFp * (2 * tp + groupTp);
            tp += groupTp;
            fp += groupFp;
        }
        return twiceArea / (2.0 * positives * negatives);
    }

    /// <summary>
    /// Area under the precision–recall curve as average precision (the step-wise sum
    /// Σ (R_k − R_{k−1}) · P_k over distinct score thresholds, as scikit-learn's
    /// <c>average_precision_score</c>), exact and with tied scores treated as one threshold.
    /// <see cref="double.NaN"/> when no labelled row is anomalous.
    /// </summary>
    /// <exception cref="SparkAnomalyException">A labelled row has a NaN score.</exception>
    public static double PrAuc(
        ReadOnlySpan<double> scores, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled = default)
    {
        var (sorted, flags, positives, _) = SortDescending(scores, actual, labelled);
        if (positives == 0)
        {
            return double.NaN;
        }
        double sum = 0;
        long tp = 0, fp = 0;
        foreach (var (groupTp, groupFp) in TieGroups(sorted, flags))
        {
            tp += groupTp;
            fp += groupFp;
            if (groupTp > 0)
            {
                sum += groupTp * ((double)tp / (tp + fp));
            }
        }
        return sum / positives;
    }

    /// <summary>
    /// Evaluates many series at once. Confusion and event counts are summed over series before ratios are
    /// taken (SKAB's protocol); ROC-AUC and PR-AUC pool the scores of all series, which assumes they share
    /// one scale (a global threshold); time to detect is summarised over the detected events of all series.
    /// </summary>
    /// <exception cref="SparkAnomalyException">A labelled row has a NaN score.</exception>
    public static EvaluationReport Evaluate(IReadOnlyList<EvaluationSeries> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var pointWise = ConfusionCounts.Zero;
        var adjusted = ConfusionCounts.Zero;
        var events = EventCounts.Zero;
        var delays = new List<int?>();
        bool allScored = series.Count > 0;
        int totalLength = 0;
        foreach (var s in series)
        {
            ArgumentNullException.ThrowIfNull(s);
            var labelled = s.Labelled ?? ReadOnlySpan<bool>.Empty;
            pointWise = pointWise.Add(PointWise(s.Predicted, s.Actual, labelled));
            adjusted = adjusted.Add(PointAdjusted(s.Predicted, s.Actual, labelled));
            events = events.Add(EventWise(s.Predicted, s.Actual, labelled));
            delays.AddRange(TimeToDetect(s.Predicted, s.Actual, labelled));
            allScored &= s.Scores is not null;
            totalLength += s.Actual.Length;
        }

        double? rocAuc = null, prAuc = null;
        if (allScored)
        {
            // Concatenate with an explicit mask so that series with and without masks can be pooled.
            var scores = new double[totalLength];
            var actual = new bool[totalLength];
            var mask = new bool[totalLength];
            int offset = 0;
            foreach (var s in series)
            {
                if (s.Scores!.Length != s.Actual.Length)
                {
                    throw new ArgumentException(
                        $"Scores has {s.Scores.Length} rows but Actual has {s.Actual.Length}.", nameof(series));
                }
                s.Scores.CopyTo(scores, offset);
                s.Actual.CopyTo(actual, offset);
                if (s.Labelled is null)
                {
                    mask.AsSpan(offset, s.Actual.Length).Fill(true);
                }
                else
                {
                    s.Labelled.CopyTo(mask, offset);
                }
                offset += s.Actual.Length;
            }
            rocAuc = NullIfNaN(RocAuc(scores, actual, mask));
            prAuc = NullIfNaN(PrAuc(scores, actual, mask));
        }

        var detected = delays.Where(d => d.HasValue).Select(d => d!.Value).Order().ToArray();
        double? mean = detected.Length == 0 ? null : detected.Average();
        double? median = detected.Length == 0
            ? null
            : detected.Length % 2 == 1
                ? detected[detected.Length / 2]
                : (detected[detected.Length / 2 - 1] + (double)detected[detected.Length / 2]) / 2;

        return new EvaluationReport(
            series.Count, pointWise, adjusted, events, rocAuc, prAuc, mean, median, delays.ToArray());
    }

    private static double? NullIfNaN(double value) => double.IsNaN(value) ? null : value;

    private static bool IsLabelled(ReadOnlySpan<bool> labelled, int i) => labelled.IsEmpty || labelled[i];

    private static void CheckLengths(ReadOnlySpan<bool> predicted, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled)
    {
        if (predicted.Length != actual.Length)
        {
            throw new ArgumentException(
                $"predicted has {predicted.Length} rows but actual has {actual.Length}; they must be aligned row by row.",
                nameof(predicted));
        }
        CheckMask(actual.Length, labelled);
    }

    private static void CheckMask(int length, ReadOnlySpan<bool> labelled)
    {
        if (!labelled.IsEmpty && labelled.Length != length)
        {
            throw new ArgumentException(
                $"labelled has {labelled.Length} rows but the series has {length}; pass an empty mask to label every row.",
                nameof(labelled));
        }
    }

    /// <summary>Copies with unlabelled rows cleared in both, so they break runs and match nothing.</summary>
    private static (bool[] Predicted, bool[] Actual) Effective(
        ReadOnlySpan<bool> predicted, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled)
    {
        var p = predicted.ToArray();
        var a = actual.ToArray();
        if (!labelled.IsEmpty)
        {
            for (int i = 0; i < a.Length; i++)
            {
                if (!labelled[i])
                {
                    p[i] = false;
                    a[i] = false;
                }
            }
        }
        return (p, a);
    }

    private static (double[] Scores, bool[] Actual, long Positives, long Negatives) SortDescending(
        ReadOnlySpan<double> scores, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled)
    {
        if (scores.Length != actual.Length)
        {
            throw new ArgumentException(
                $"scores has {scores.Length} rows but actual has {actual.Length}; they must be aligned row by row.",
                nameof(scores));
        }
        CheckMask(actual.Length, labelled);
        var s = new List<double>(scores.Length);
        var a = new List<bool>(scores.Length);
        long positives = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (!IsLabelled(labelled, i))
            {
                continue;
            }
            if (double.IsNaN(scores[i]))
            {
                throw new SparkAnomalyException(
                    $"Score at row {i} is NaN; fix or drop non-finite scores before computing ROC-AUC or PR-AUC.");
            }
            s.Add(-scores[i]); // ascending sort of negated scores = descending scores
            a.Add(actual[i]);
            positives += actual[i] ? 1 : 0;
        }
        var keys = s.ToArray();
        var flags = a.ToArray();
        Array.Sort(keys, flags);
        return (keys, flags, positives, keys.Length - positives);
    }

    /// <summary>(anomalous, normal) counts per group of equal scores, from the highest score down.</summary>
    private static IEnumerable<(long Tp, long Fp)> TieGroups(double[] negatedSorted, bool[] flags)
    {
        int i = 0;
        while (i < negatedSorted.Length)
        {
            long tp = 0, fp = 0;
            double value = negatedSorted[i];
            while (i < negatedSorted.Length && negatedSorted[i] == value)
            {
                if (flags[i]) { tp++; } else { fp++; }
                i++;
            }
            yield return (tp, fp);
        }
    }
}
