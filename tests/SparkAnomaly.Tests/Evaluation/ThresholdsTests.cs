using SparkAnomaly.Scoring;

namespace SparkAnomaly.Tests.Evaluation;

public sealed class ThresholdsTests
{
    [Theory]
    [InlineData(new[] { 1.0, 2, 3, 4 }, 50, 2.5)]
    [InlineData(new[] { 4.0, 1, 3, 2 }, 50, 2.5)] // unsorted input
    [InlineData(new[] { 10.0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 99.5, 9.955)] // index 9·0.995 = 8.955 → 9 + 0.955·(10 − 9)
    [InlineData(new[] { 1.0, 2, 3, 4 }, 0, 1.0)]
    [InlineData(new[] { 1.0, 2, 3, 4 }, 100, 4.0)]
    [InlineData(new[] { 7.0 }, 30, 7.0)]
    public void Fit_Percentile_MatchesNumpyLinearInterpolation(double[] scores, double percentile, double expected)
    {
        // Expected values are np.percentile(scores, percentile) with numpy's default method="linear".
        Assert.Equal(expected, Thresholds.Fit(scores, new ThresholdSpec(ThresholdMethod.Percentile, percentile)), 12);
    }

    [Fact]
    public void Fit_MeanStd_UsesPopulationStandardDeviation()
    {
        // Mean 5, population std 2 (the sample std would be 2.138): 5 + 3 · 2.
        double[] scores = { 2, 4, 4, 4, 5, 5, 7, 9 };

        Assert.Equal(11.0, Thresholds.Fit(scores, new ThresholdSpec(ThresholdMethod.MeanStd, 3)), 12);
    }

    [Fact]
    public void Fit_MeanStd_LargeOffset_KeepsPrecision()
    {
        // The same data shifted by 1e9: a one-pass sum of squares would lose the variance entirely.
        double[] scores = { 1e9 + 2, 1e9 + 4, 1e9 + 4, 1e9 + 4, 1e9 + 5, 1e9 + 5, 1e9 + 7, 1e9 + 9 };

        Assert.Equal(1e9 + 11, Thresholds.Fit(scores, new ThresholdSpec(ThresholdMethod.MeanStd, 3)), 6);
    }

    [Theory]
    [InlineData("percentile:99.5", ThresholdMethod.Percentile, 99.5, null, "percentile:99.5")]
    [InlineData(" MeanStd:3 ", ThresholdMethod.MeanStd, 3.0, null, "meanstd:3")]
    [InlineData("pot:1e-3", ThresholdMethod.Pot, 1e-3, null, "pot:0.001:0.98")]
    [InlineData("POT:0.0001:0.95", ThresholdMethod.Pot, 1e-4, 0.95, "pot:0.0001:0.95")]
    public void Parse_ValidText_ReturnsSpecThatRoundTrips(
        string text, ThresholdMethod method, double parameter, double? initial, string canonical)
    {
        var spec = ThresholdSpec.Parse(text);

        Assert.Equal(new ThresholdSpec(method, parameter, initial), spec);
        Assert.Equal(canonical, spec.ToString());
        Assert.Equal(spec.Method, ThresholdSpec.Parse(spec.ToString()).Method);
        Assert.Equal(spec.EffectiveInitialQuantile, ThresholdSpec.Parse(spec.ToString()).EffectiveInitialQuantile);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("median:3", "Unknown threshold method 'median'")]
    [InlineData("percentile", "has 0 parameter(s)")]
    [InlineData("percentile:99:0.9", "has 2 parameter(s)")]
    [InlineData("percentile:101", "outside 0..100")]
    [InlineData("meanstd:abc", "'abc' in threshold spec 'meanstd:abc' is not a number")]
    [InlineData("meanstd:NaN", "not a finite number")]
    [InlineData("pot:2", "pot risk q 2 is outside (0, 1)")]
    [InlineData("pot:1e-3:1.5", "initial quantile 1.5 is outside (0, 1)")]
    public void Parse_BadText_ThrowsOneLineSparkAnomalyException(string text, string expectedFragment)
    {
        var ex = Assert.Throws<SparkAnomalyException>(() => ThresholdSpec.Parse(text));

        Assert.Contains(expectedFragment, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Validate_InitialQuantileOnPercentile_Throws()
    {
        var ex = Assert.Throws<SparkAnomalyException>(() => new ThresholdSpec(ThresholdMethod.Percentile, 99, 0.9).Validate());
        Assert.Contains("only applies to pot", ex.Message);
    }

    [Theory]
    [InlineData(ThresholdMethod.Percentile, 99.0)]
    [InlineData(ThresholdMethod.MeanStd, 3.0)]
    [InlineData(ThresholdMethod.Pot, 1e-3)]
    public void Fit_NoScores_ThrowsSayingWhatToDo(ThresholdMethod method, double parameter)
    {
        var ex = Assert.Throws<SparkAnomalyException>(() => Thresholds.Fit(ReadOnlySpan<double>.Empty, new ThresholdSpec(method, parameter)));
        Assert.Contains("No training scores", ex.Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Fit_NonFiniteScore_ThrowsNamingTheIndex(double bad)
    {
        var ex = Assert.Throws<SparkAnomalyException>(
            () => Thresholds.Fit(new[] { 1.0, bad, 2.0 }, new ThresholdSpec(ThresholdMethod.Percentile, 50)));
        Assert.Contains("index 1", ex.Message);
    }

    [Fact]
    public void Fit_PotWithTooFewPeaks_ThrowsSuggestingLowerInitialQuantile()
    {
        // 100 scores at the 0.98 quantile leave one peak.
        var scores = Enumerable.Range(0, 100).Select(i => (double)i).ToArray();

        var ex = Assert.Throws<SparkAnomalyException>(() => Thresholds.Fit(scores, ThresholdSpec.Parse("pot:1e-3")));

        Assert.Contains("needs at least 10", ex.Message);
        Assert.Contains("lower the initial quantile", ex.Message);
    }

    [Fact]
    public void FitPot_RiskNotBelowPeakShare_Throws()
    {
        // About 2 % of the scores are peaks, so a 10 % risk would put z_q below t.
        var ex = Assert.Throws<SparkAnomalyException>(() => Thresholds.FitPot(Sample("exp", 1000), 0.1));
        Assert.Contains("use a smaller q", ex.Message);
    }

    /// <summary>
    /// Samples of n = 20000 from SplitMix64 (seeds 42, 7, 11) through inverse CDFs: Exp(1) (−ln U, tail
    /// γ = 0), Pareto α = 3 (U^(−1/3), γ = 1/3) and a bounded tail (1 − √U, γ = −1/2). POT at q = 1e-3 with
    /// initial quantile 0.98 (t = sorted[19600], 399 peaks).
    ///
    /// Expected values come from two computations independent of the Grimshaw code under test:
    /// (1) a pure-Python script (written for this test, no numpy; same generator) that maximises the GPD
    ///     likelihood by a 121×121 grid over (γ, ln σ) refined 45 times, then applies z_q = t + σ/γ·((qn/N_t)^(−γ) − 1);
    ///     its results are the literals below;
    /// (2) the same brute-force grid search in C# (<see cref="BruteForceGpd"/>), run here.
    /// The grid optimum is within ~1e-7 of the true maximiser, so 1e-6 relative is the stated tolerance.
    /// As a textbook cross-check, the true quantiles are −ln q = 6.908, q^(−1/3) = 10 and 1 − √q = 0.968;
    /// the fits differ from them by sampling error only.
    /// </summary>
    [Theory]
    [InlineData("exp", 3.8552255682531062, -0.06254182651498157, 1.048881833701544, 6.71841508340131, 6.907755278982137, 0.4)]
    [InlineData("pareto3", 3.7389910703413163, 0.3355635410331257, 1.3328007361130028, 10.611522157019916, 10.0, 1.0)]
    [InlineData("bounded", 0.8573819530875213, -0.46628022458349294, 0.06605654984457886, 0.9639632288787219, 0.9683772233983162, 0.01)]
    public void FitPot_SyntheticTail_MatchesBruteForceMaximumLikelihood(
        string distribution, double expectedT, double expectedGamma, double expectedSigma, double expectedZ,
        double trueQuantile, double samplingTolerance)
    {
        var scores = Sample(distribution, 20000);

        var fit = Thresholds.FitPot(scores, 1e-3, 0.98);

        Assert.Equal(expectedT, fit.InitialThreshold);
        Assert.Equal(399, fit.PeakCount);
        Assert.Equal(20000, fit.SampleCount);
        AssertRelative(expectedGamma, fit.Gamma, 1e-4); // γ sits on a flat ridge; z_q is what matters
        AssertRelative(expectedSigma, fit.Sigma, 1e-5);
        AssertRelative(expectedZ, fit.Threshold, 1e-6);
        Assert.Equal(fit.Threshold, Thresholds.Fit(scores, ThresholdSpec.Parse("pot:1e-3:0.98")));

        var peaks = scores.Where(x => x > fit.InitialThreshold).Select(x => x - fit.InitialThreshold).ToArray();
        var (gamma, sigma) = BruteForceGpd(peaks);
        double r = 1e-3 * scores.Length / peaks.Length;
        double bruteZ = fit.InitialThreshold + sigma / gamma * (Math.Pow(r, -gamma) - 1);
        AssertRelative(bruteZ, fit.Threshold, 1e-6);

        Assert.InRange(fit.Threshold, trueQuantile - samplingTolerance, trueQuantile + samplingTolerance);
    }

    [Fact]
    public void Spot_Initialise_MatchesBatchFit()
    {
        var scores = Sample("exp", 5000);

        var spot = Spot.Initialise(scores, 1e-3);

        Assert.Equal(Thresholds.FitPot(scores, 1e-3), spot.Fit);
    }

    [Fact]
    public void Spot_Step_AlarmsAboveThresholdAndLearnsPeaksBelowIt()
    {
        var spot = Spot.Initialise(Sample("exp", 5000), 1e-3);
        var before = spot.Fit;

        // Above z_q: an alarm, and not learned from.
        Assert.True(spot.Step(before.Threshold + 1));
        Assert.Equal(before, spot.Fit);

        // Below t: only n grows.
        Assert.False(spot.Step(before.InitialThreshold - 0.1));
        Assert.Equal(before.SampleCount + 1, spot.Fit.SampleCount);
        Assert.Equal(before.PeakCount, spot.Fit.PeakCount);

        // Between t and z_q: a new (large) peak, so the tail is refitted and z_q moves up.
        double peak = before.Threshold - 1e-6;
        Assert.False(spot.Step(peak));
        Assert.Equal(before.PeakCount + 1, spot.Fit.PeakCount);
        Assert.Equal(before.SampleCount + 2, spot.Fit.SampleCount);
        Assert.True(spot.Threshold > before.Threshold);
    }

    [Fact]
    public void Spot_StepNonFinite_Throws()
    {
        var spot = Spot.Initialise(Sample("exp", 5000), 1e-3);

        Assert.Throws<SparkAnomalyException>(() => spot.Step(double.NaN));
    }

    /// <summary>GPD MLE by exhaustive grid over (γ, ln σ), refined around the best point; no root finding.</summary>
    private static (double Gamma, double Sigma) BruteForceGpd(double[] peaks)
    {
        double mean = peaks.Average();
        double gLo = -0.95, gHi = 2.0, sLo = Math.Log(mean / 100), sHi = Math.Log(mean * 100);
        const int N = 120;
        (double Ll, double G, double LogS) best = (double.NegativeInfinity, 0, 0);
        for (int i = 0; i <= N; i++)
        {
            for (int j = 0; j <= N; j++)
            {
                double g = gLo + (gHi - gLo) * i / N, ls = sLo + (sHi - sLo) * j / N;
                double ll = GpdLogLikelihood(peaks, g, Math.Exp(ls));
                if (ll > best.Ll)
                {
                    best = (ll, g, ls);
                }
            }
        }
        double hg = (gHi - gLo) / N, hs = (sHi - sLo) / N;
        for (int iteration = 0; iteration < 45; iteration++)
        {
            var (_, g0, s0) = best;
            for (int i = -10; i <= 10; i++)
            {
                for (int j = -10; j <= 10; j++)
                {
                    double g = g0 + hg * i / 10, ls = s0 + hs * j / 10;
                    double ll = GpdLogLikelihood(peaks, g, Math.Exp(ls));
                    if (ll > best.Ll)
                    {
                        best = (ll, g, ls);
                    }
                }
            }
            hg /= 3;
            hs /= 3;
        }
        return (best.G, Math.Exp(best.LogS));
    }

    private static double GpdLogLikelihood(double[] peaks, double gamma, double sigma)
    {
        if (Math.Abs(gamma) < 1e-12)
        {
            return -peaks.Length * Math.Log(sigma) - peaks.Sum() / sigma;
        }
        double sum = 0;
        foreach (var y in peaks)
        {
            double x = gamma / sigma * y;
            if (x <= -1)
            {
                return double.NegativeInfinity;
            }
            double u = 1 + x;
            sum += u == 1 ? x : Math.Log(u) * x / (u - 1); // accurate ln(1 + x)
        }
        return -peaks.Length * Math.Log(sigma) - (1 + 1 / gamma) * sum;
    }

    private static void AssertRelative(double expected, double actual, double tolerance) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Abs(expected),
            $"expected {expected:R} ± {tolerance:R} relative, got {actual:R}");

    /// <summary>Deterministic samples: SplitMix64 uniforms in (0, 1) through an inverse CDF.</summary>
    internal static double[] Sample(string distribution, int n)
    {
        (ulong seed, Func<double, double> inverse) = distribution switch
        {
            "exp" => (42UL, u => -Math.Log(u)),
            "pareto3" => (7UL, u => Math.Pow(u, -1.0 / 3)),
            "bounded" => (11UL, new Func<double, double>(u => 1 - Math.Sqrt(u))),
            _ => throw new ArgumentException(distribution),
        };
        var result = new double[n];
        ulong state = seed;
        for (int i = 0; i < n; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            ulong z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            result[i] = inverse(((z >> 11) + 0.5) / (1UL << 53));
        }
        return result;
    }
}
