using System.Globalization;

namespace SparkAnomaly.Scoring;

/// <summary>Whether one threshold serves every series, or each series has its own.</summary>
public enum ThresholdScope
{
    Global,
    PerSeries,
}

/// <summary>How an alarm threshold is derived from training-period scores.</summary>
public enum ThresholdMethod
{
    /// <summary>A percentile of the training scores (linear interpolation, as numpy's default).</summary>
    Percentile,

    /// <summary>Mean + k · standard deviation (population) of the training scores.</summary>
    MeanStd,

    /// <summary>Peaks over threshold: a generalised Pareto tail fitted to the training scores (Siffer et al., KDD 2017).</summary>
    Pot,
}

/// <summary>
/// A threshold rule and its parameter. The text form (<see cref="Parse"/>, <see cref="ToString"/>) is what
/// the CLI accepts and what is stored beside the threshold in the model file and score rows:
/// <c>percentile:99.5</c>, <c>meanstd:3</c>, <c>pot:1e-3</c> or <c>pot:1e-3:0.98</c>.
/// </summary>
/// <param name="Method">The rule.</param>
/// <param name="Parameter">Percentile: the percentile, 0..100. MeanStd: k. Pot: the risk q, the probability
/// of a normal score exceeding the threshold, in (0, 1), e.g. 1e-3.</param>
/// <param name="InitialQuantile">Pot only: quantile of the training scores above which peaks are taken, in
/// (0, 1); <see langword="null"/> means <see cref="DefaultInitialQuantile"/>.</param>
public sealed record ThresholdSpec(ThresholdMethod Method, double Parameter, double? InitialQuantile = null)
{
    /// <summary>The initial quantile Siffer et al. use (98 %).</summary>
    public const double DefaultInitialQuantile = 0.98;

    private const string Usage = "use percentile:P (0..100), meanstd:K or pot:Q[:INITIAL_QUANTILE], e.g. pot:1e-3:0.98";

    /// <summary><see cref="InitialQuantile"/>, or its default.</summary>
    public double EffectiveInitialQuantile => InitialQuantile ?? DefaultInitialQuantile;

    /// <summary>Parses the text form, case-insensitively, with '.' as decimal separator.</summary>
    /// <exception cref="SparkAnomalyException">The text is not a valid spec; the message says what is accepted.</exception>
    public static ThresholdSpec Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new SparkAnomalyException($"Threshold spec is empty; {Usage}.");
        }
        var parts = text.Trim().Split(':');
        ThresholdMethod method = parts[0].Trim().ToLowerInvariant() switch
        {
            "percentile" => ThresholdMethod.Percentile,
            "meanstd" => ThresholdMethod.MeanStd,
            "pot" => ThresholdMethod.Pot,
            _ => throw new SparkAnomalyException($"Unknown threshold method '{parts[0]}' in '{text}'; {Usage}."),
        };
        int maxParts = method == ThresholdMethod.Pot ? 3 : 2;
        if (parts.Length < 2 || parts.Length > maxParts)
        {
            throw new SparkAnomalyException($"Threshold spec '{text}' has {parts.Length - 1} parameter(s); {Usage}.");
        }
        var spec = new ThresholdSpec(
            method,
            ParseNumber(parts[1], text),
            parts.Length == 3 ? ParseNumber(parts[2], text) : null);
        spec.Validate();
        return spec;
    }

    /// <summary>Checks the parameter ranges.</summary>
    /// <exception cref="SparkAnomalyException">A parameter is out of range; the message gives the valid range.</exception>
    public void Validate()
    {
        switch (Method)
        {
            case ThresholdMethod.Percentile:
                Require(Parameter is >= 0 and <= 100, $"percentile {Format(Parameter)} is outside 0..100; pass e.g. percentile:99.5");
                break;
            case ThresholdMethod.MeanStd:
                Require(double.IsFinite(Parameter), $"meanstd k {Format(Parameter)} is not a finite number; pass e.g. meanstd:3");
                // Below the mean the threshold flags about half of normal steps: a sign slip, not a setting.
                Require(Parameter >= 0, $"meanstd k {Format(Parameter)} is negative, which puts the threshold below the mean score; pass e.g. meanstd:3");
                break;
            case ThresholdMethod.Pot:
                Require(Parameter is > 0 and < 1, $"pot risk q {Format(Parameter)} is outside (0, 1); pass e.g. pot:1e-3");
                Require(EffectiveInitialQuantile is > 0 and < 1,
                    $"pot initial quantile {Format(EffectiveInitialQuantile)} is outside (0, 1); pass e.g. pot:1e-3:0.98");
                break;
            default:
                throw new SparkAnomalyException($"Unknown threshold method {(int)Method}; {Usage}.");
        }
        Require(Method == ThresholdMethod.Pot || InitialQuantile is null,
            $"an initial quantile only applies to pot, not {Method.ToString().ToLowerInvariant()}; drop it");
    }

    /// <summary>The canonical text form, which <see cref="Parse"/> reads back to an equal spec.</summary>
    public override string ToString() => Method switch
    {
        ThresholdMethod.Pot => $"pot:{Format(Parameter)}:{Format(EffectiveInitialQuantile)}",
        _ => $"{Method.ToString().ToLowerInvariant()}:{Format(Parameter)}",
    };

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static double ParseNumber(string part, string text)
    {
        if (!double.TryParse(part.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
        {
            throw new SparkAnomalyException($"'{part}' in threshold spec '{text}' is not a number; {Usage}.");
        }
        return value;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new SparkAnomalyException($"Invalid threshold: {message}.");
        }
    }
}

/// <summary>
/// A generalised Pareto tail fitted by peaks over threshold, and the alarm threshold it implies.
/// </summary>
/// <param name="Threshold">z_q, the score a normal point exceeds with probability <paramref name="Risk"/>.</param>
/// <param name="InitialThreshold">t, the empirical quantile above which peaks were taken.</param>
/// <param name="Gamma">GPD shape γ (0: exponential tail; &gt; 0: heavy tail; &lt; 0: bounded tail).</param>
/// <param name="Sigma">GPD scale σ.</param>
/// <param name="PeakCount">N_t, the number of scores above t.</param>
/// <param name="SampleCount">n, the number of scores seen.</param>
/// <param name="Risk">q.</param>
public sealed record PotFit(
    double Threshold, double InitialThreshold, double Gamma, double Sigma, int PeakCount, int SampleCount, double Risk);

/// <summary>Fits alarm thresholds on training-period scores.</summary>
public static class Thresholds
{
    /// <summary>
    /// Fewest peaks POT will fit a tail to. Below this the maximum-likelihood shape is mostly noise, and
    /// the extrapolated threshold with it.
    /// </summary>
    public const int MinimumPotPeaks = 10;

    /// <summary>Fits the threshold <paramref name="spec"/> describes.</summary>
    /// <exception cref="SparkAnomalyException">Invalid spec, no scores, a non-finite score, or too few POT peaks.</exception>
    public static double Fit(ReadOnlySpan<double> trainingScores, ThresholdSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        return spec.Method switch
        {
            ThresholdMethod.Percentile => Percentile(trainingScores, spec.Parameter),
            ThresholdMethod.MeanStd => MeanStd(trainingScores, spec.Parameter),
            ThresholdMethod.Pot => FitPot(trainingScores, spec.Parameter, spec.EffectiveInitialQuantile).Threshold,
            _ => throw new SparkAnomalyException($"Unknown threshold method {(int)spec.Method}; use percentile, meanstd or pot."),
        };
    }

    /// <summary>
    /// The <paramref name="percentile"/>-th percentile with linear interpolation between closest ranks,
    /// bit-for-bit as numpy's default <c>np.percentile(x, p)</c> (method "linear").
    /// </summary>
    public static double Percentile(ReadOnlySpan<double> scores, double percentile)
    {
        if (percentile is not (>= 0 and <= 100))
        {
            throw new SparkAnomalyException($"Invalid threshold: percentile {percentile} is outside 0..100; pass e.g. percentile:99.5.");
        }
        var sorted = SortedFinite(scores, "percentile");
        return SortedQuantile(sorted, percentile / 100);
    }

    /// <summary>Mean + <paramref name="k"/> · population standard deviation.</summary>
    public static double MeanStd(ReadOnlySpan<double> scores, double k)
    {
        if (!double.IsFinite(k))
        {
            throw new SparkAnomalyException($"Invalid threshold: meanstd k {k} is not a finite number; pass e.g. meanstd:3.");
        }
        CheckFinite(scores, "meanstd");
        // Two passes: the one-pass sum of squares loses every digit when scores sit far from zero.
        double mean = 0;
        foreach (var x in scores)
        {
            mean += x;
        }
        mean /= scores.Length;
        double squares = 0;
        foreach (var x in scores)
        {
            squares += (x - mean) * (x - mean);
        }
        return mean + k * Math.Sqrt(squares / scores.Length);
    }

    /// <summary>
    /// Peaks over threshold (Siffer, Fouque, Termier, Largouët, "Anomaly Detection in Streams with Extreme
    /// Value Theory", KDD 2017): t is the empirical <paramref name="initialQuantile"/> of the scores, taken
    /// as the reference SPOT code does (sorted[⌊level·n⌋], no interpolation); the excesses over t are fitted
    /// with a generalised Pareto distribution by maximum likelihood using Grimshaw's reduction to one
    /// equation; then z_q = t + (σ/γ)·((q·n/N_t)^(−γ) − 1), or t − σ·ln(q·n/N_t) when γ = 0.
    /// </summary>
    /// <exception cref="SparkAnomalyException">Bad parameters, no or non-finite scores, fewer than
    /// <see cref="MinimumPotPeaks"/> peaks, or a risk too large for the tail model.</exception>
    public static PotFit FitPot(ReadOnlySpan<double> scores, double risk, double initialQuantile = ThresholdSpec.DefaultInitialQuantile)
    {
        new ThresholdSpec(ThresholdMethod.Pot, risk, initialQuantile).Validate();
        var sorted = SortedFinite(scores, "pot");
        int n = sorted.Length;
        double t = sorted[(int)(initialQuantile * n)];
        int first = Array.FindIndex(sorted, x => x > t);
        var peaks = first < 0 ? Array.Empty<double>() : sorted[first..].Select(x => x - t).ToArray();
        return FitTail(peaks, t, n, risk, initialQuantile);
    }

    /// <summary>Fits the GPD to <paramref name="peaks"/> (excesses over <paramref name="t"/>) and returns z_q.</summary>
    internal static PotFit FitTail(double[] peaks, double t, int n, double risk, double initialQuantile)
    {
        if (peaks.Length < MinimumPotPeaks)
        {
            throw new SparkAnomalyException(
                $"POT found {peaks.Length} training scores above its initial threshold {t:G6} (quantile {initialQuantile:R} of {n} scores) " +
                $"but needs at least {MinimumPotPeaks}; lower the initial quantile (e.g. pot:{risk:R}:0.9) or fit on more training scores.");
        }
        double ratio = risk * n / peaks.Length;
        if (ratio >= 1)
        {
            throw new SparkAnomalyException(
                $"POT risk q={risk:R} is not below the share of peaks ({peaks.Length} of {n} scores), so the threshold would fall " +
                $"below the initial threshold where the tail model does not hold; use a smaller q or a lower initial quantile.");
        }
        var (gamma, sigma) = Grimshaw(peaks);
        double z = gamma == 0
            ? t - sigma * Math.Log(ratio)
            : t + sigma / gamma * double.ExpM1(-gamma * Math.Log(ratio));
        return new PotFit(z, t, gamma, sigma, peaks.Length, n, risk);
    }

    /// <summary>
    /// GPD maximum likelihood by Grimshaw's trick (Grimshaw 1993; Siffer et al. 2017 §3.2). With x = γ/σ the
    /// likelihood equations reduce to w(x) = u(x)·v(x) − 1 = 0, u(x) = 1 + mean ln(1 + x·Y),
    /// v(x) = mean 1/(1 + x·Y), whose non-zero roots lie in (−1/Y_max, 0) and in (0, 2(Ȳ − Y_min)/Y_min²].
    /// Each root x gives γ = u(x) − 1, σ = γ/x; the exponential
    /// fit (γ = 0, σ = Ȳ) is always a candidate; the candidate with the highest likelihood wins.
    /// </summary>
    /// <remarks>
    /// The reference code finds roots with L-BFGS-B from a few starts, and searches positive roots only above
    /// 2(Ȳ − Y_min)/(Ȳ·Y_min); that bound is not valid (on a Pareto sample with γ = 1/3 the maximiser lies far
    /// below it), so the whole of (0, upper] is searched here. Roots are found by a
    /// dense scan for sign changes (log-spaced, since the right bracket can span many decades) and
    /// bisection: deterministic, free of optimiser tolerances, and a root is only missed when two lie
    /// between adjacent scan points. The exponential likelihood uses the correct −n(1 + ln Ȳ); the
    /// reference code's n(1 + ln Ȳ) has the wrong sign.
    /// </remarks>
    internal static (double Gamma, double Sigma) Grimshaw(double[] peaks)
    {
        double yMin = peaks.Min(), yMax = peaks.Max(), yMean = peaks.Average();
        double bestGamma = 0, bestSigma = yMean;
        double bestLl = LogLikelihood(peaks, 0, yMean);

        var roots = new List<double>();
        // Left bracket, x in (−1/yMax, 0): scan s = −x·yMax in (0, 1), log-spaced towards both ends.
        const int Points = 200;
        var left = new List<double>();
        for (int k = 1; k <= Points; k++)
        {
            // Closer to 0 than 1e-8 · (1/yMax), w is O(x²) and drowns in rounding noise around the trivial root.
            double s = Math.Pow(10, -8 + 8.0 * k / (Points + 1));
            left.Add(-s / yMax);
            left.Add(-(1 - s) / yMax);
        }
        FindRoots(peaks, left, roots);

        // Right bracket, x in (0, 2(Ȳ − Y_min)/Y_min²]: scanned log-spaced from the same 1e-8/yMax floor.
        // A vanishing Y_min sends the bound to infinity; beyond x·Y_max = 1e15 lie only tails with γ > 30.
        double upper = Math.Min(2 * (yMean - yMin) / (yMin * yMin), 1e15 / yMax);
        double lower = 1e-8 / yMax;
        if (double.IsFinite(upper) && upper > lower)
        {
            var right = new List<double>();
            double logLower = Math.Log(lower), logUpper = Math.Log(upper);
            for (int k = 0; k <= 2 * Points; k++)
            {
                right.Add(Math.Exp(logLower + (logUpper - logLower) * k / (2 * Points)));
            }
            right[^1] = upper;
            FindRoots(peaks, right, roots);
        }

        foreach (double x in roots)
        {
            double gamma = MeanLog1p(peaks, x);
            double sigma = gamma / x;
            if (!(sigma > 0) || !double.IsFinite(gamma))
            {
                continue;
            }
            double ll = LogLikelihood(peaks, gamma, sigma);
            if (ll > bestLl)
            {
                (bestGamma, bestSigma, bestLl) = (gamma, sigma, ll);
            }
        }
        return (bestGamma, bestSigma);
    }

    /// <summary>GPD log-likelihood of the peaks.</summary>
    internal static double LogLikelihood(double[] peaks, double gamma, double sigma)
    {
        int n = peaks.Length;
        if (gamma == 0)
        {
            double sum = 0;
            foreach (var y in peaks)
            {
                sum += y;
            }
            return -n * Math.Log(sigma) - sum / sigma;
        }
        double tau = gamma / sigma;
        double logs = 0;
        foreach (var y in peaks)
        {
            if (tau * y <= -1)
            {
                return double.NegativeInfinity;
            }
            logs += Log1p(tau * y);
        }
        return -n * Math.Log(sigma) - (1 + 1 / gamma) * logs;
    }

    private static void FindRoots(double[] peaks, List<double> grid, List<double> roots)
    {
        grid.Sort();
        double previousX = grid[0], previousW = W(peaks, previousX);
        for (int i = 1; i < grid.Count; i++)
        {
            double x = grid[i], w = W(peaks, x);
            if (double.IsFinite(previousW) && double.IsFinite(w) && Math.Sign(previousW) * Math.Sign(w) < 0)
            {
                roots.Add(Bisect(peaks, previousX, previousW, x));
            }
            else if (w == 0 && x != 0)
            {
                roots.Add(x);
            }
            (previousX, previousW) = (x, w);
        }
    }

    private static double Bisect(double[] peaks, double lo, double wLo, double hi)
    {
        for (int i = 0; i < 200; i++)
        {
            double mid = lo + (hi - lo) / 2;
            if (mid <= lo || mid >= hi)
            {
                break;
            }
            double wMid = W(peaks, mid);
            if (Math.Sign(wMid) == Math.Sign(wLo))
            {
                (lo, wLo) = (mid, wMid);
            }
            else
            {
                hi = mid;
            }
        }
        return lo + (hi - lo) / 2;
    }

    private static double W(double[] peaks, double x)
    {
        double u = 1 + MeanLog1p(peaks, x);
        double v = 0;
        foreach (var y in peaks)
        {
            v += 1 / (1 + x * y);
        }
        return u * (v / peaks.Length) - 1;
    }

    private static double MeanLog1p(double[] peaks, double x)
    {
        double sum = 0;
        foreach (var y in peaks)
        {
            sum += Log1p(x * y);
        }
        return sum / peaks.Length;
    }

    /// <summary>
    /// ln(1 + x), accurate for tiny x (Goldberg 1991, Theorem 4). Near γ = 0 the likelihood multiplies these
    /// logs by 1/γ, so the digits a plain Math.Log(1 + x) drops would be amplified; double.LogP1 is not
    /// guaranteed to be any better.
    /// </summary>
    private static double Log1p(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>numpy "linear" quantile of sorted data, including its lerp that is exact at both ends.</summary>
    internal static double SortedQuantile(double[] sorted, double quantile)
    {
        double virtualIndex = (sorted.Length - 1) * quantile;
        int lower = (int)Math.Floor(virtualIndex);
        if (lower >= sorted.Length - 1)
        {
            return sorted[^1];
        }
        double g = virtualIndex - lower;
        double a = sorted[lower], b = sorted[lower + 1], diff = b - a;
        return g >= 0.5 ? b - diff * (1 - g) : a + diff * g;
    }

    private static double[] SortedFinite(ReadOnlySpan<double> scores, string method)
    {
        CheckFinite(scores, method);
        var sorted = scores.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    private static void CheckFinite(ReadOnlySpan<double> scores, string method)
    {
        if (scores.IsEmpty)
        {
            throw new SparkAnomalyException(
                $"No training scores to fit a {method} threshold on; score the training period (or pass a fixed threshold) first.");
        }
        for (int i = 0; i < scores.Length; i++)
        {
            if (!double.IsFinite(scores[i]))
            {
                throw new SparkAnomalyException(
                    $"Training score at index {i} is {scores[i]}; thresholds need finite scores, so drop or fix non-finite rows before fitting.");
            }
        }
    }
}
