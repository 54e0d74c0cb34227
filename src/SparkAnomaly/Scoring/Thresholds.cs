namespace SparkAnomaly.Scoring;

// Interim: replaced by the full implementation (mean+kσ, POT) from the evaluation branch.
public enum ThresholdMethod { Percentile, MeanStd, Pot }

public sealed record ThresholdSpec(ThresholdMethod Method, double Parameter, double? InitialQuantile = null)
{
    public static ThresholdSpec Parse(string text)
    {
        var p = (text ?? "").Split(':');
        if (p.Length == 2 && p[0] == "percentile" && double.TryParse(p[1], System.Globalization.CultureInfo.InvariantCulture, out double v) && v is > 0 and <= 100)
        {
            return new ThresholdSpec(ThresholdMethod.Percentile, v);
        }
        throw new SparkAnomalyException($"threshold '{text}' is not percentile:P.");
    }
}

public static class Thresholds
{
    public static double Fit(ReadOnlySpan<double> trainingScores, ThresholdSpec spec)
    {
        var s = trainingScores.ToArray();
        Array.Sort(s);
        double pos = spec.Parameter / 100 * (s.Length - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, s.Length - 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }
}
