namespace SparkAnomaly.Reporting;

/// <summary>ROC and precision–recall curves, one point per distinct score threshold (ties move together).</summary>
public static class Curves
{
    /// <summary>
    /// (false positive rate, true positive rate) points from (0, 0) to (1, 1), thresholds from the highest score down.
    /// Empty when the labelled rows are all of one class. Rows with <paramref name="labelled"/> false, and NaN scores, are left out.
    /// </summary>
    public static (double[] Fpr, double[] Tpr) Roc(ReadOnlySpan<double> scores, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled)
    {
        var (groups, pos, neg) = Groups(scores, actual, labelled);
        if (pos == 0 || neg == 0)
        {
            return (Array.Empty<double>(), Array.Empty<double>());
        }
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        long tp = 0, fp = 0;
        foreach (var (gtp, gfp) in groups)
        {
            tp += gtp;
            fp += gfp;
            fpr.Add((double)fp / neg);
            tpr.Add((double)tp / pos);
        }
        return (fpr.ToArray(), tpr.ToArray());
    }

    /// <summary>(recall, precision) points, thresholds from the highest score down. Empty when no labelled row is anomalous.</summary>
    public static (double[] Recall, double[] Precision) PrecisionRecall(ReadOnlySpan<double> scores, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled)
    {
        var (groups, pos, _) = Groups(scores, actual, labelled);
        if (pos == 0)
        {
            return (Array.Empty<double>(), Array.Empty<double>());
        }
        var recall = new List<double>();
        var precision = new List<double>();
        long tp = 0, fp = 0;
        foreach (var (gtp, gfp) in groups)
        {
            tp += gtp;
            fp += gfp;
            recall.Add((double)tp / pos);
            precision.Add((double)tp / (tp + fp));
        }
        return (recall.ToArray(), precision.ToArray());
    }

    private static (List<(long Tp, long Fp)> Groups, long Positives, long Negatives) Groups(ReadOnlySpan<double> scores, ReadOnlySpan<bool> actual, ReadOnlySpan<bool> labelled)
    {
        if (scores.Length != actual.Length || (!labelled.IsEmpty && labelled.Length != actual.Length))
        {
            throw new ArgumentException("scores, actual and labelled must be aligned row by row.", nameof(scores));
        }
        var keys = new List<double>();
        var flags = new List<bool>();
        for (int i = 0; i < scores.Length; i++)
        {
            if ((labelled.IsEmpty || labelled[i]) && !double.IsNaN(scores[i]))
            {
                keys.Add(-scores[i]);
                flags.Add(actual[i]);
            }
        }
        var k = keys.ToArray();
        var f = flags.ToArray();
        Array.Sort(k, f);
        var groups = new List<(long, long)>();
        long pos = 0, neg = 0;
        int j = 0;
        while (j < k.Length)
        {
            long tp = 0, fp = 0;
            double v = k[j];
            while (j < k.Length && k[j] == v)
            {
                if (f[j]) { tp++; } else { fp++; }
                j++;
            }
            groups.Add((tp, fp));
            pos += tp;
            neg += fp;
        }
        return (groups, pos, neg);
    }
}
