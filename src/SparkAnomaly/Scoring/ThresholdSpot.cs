namespace SparkAnomaly.Scoring;

/// <summary>
/// Streaming POT (SPOT, Siffer et al. KDD 2017, Algorithm 1): calibrated on an initial batch like
/// <see cref="Thresholds.FitPot"/>, then each new score either raises an alarm (above z_q; not learned from),
/// becomes a new peak (above t: the tail is refitted and z_q updated), or only counts towards n.
/// </summary>
/// <remarks>
/// As in the reference algorithm, z_q is recomputed only when a peak arrives, so between peaks
/// <see cref="PotFit.SampleCount"/> runs ahead of the n that <see cref="Threshold"/> was computed with.
/// Not thread-safe: one instance follows one stream.
/// </remarks>
public sealed class Spot
{
    private readonly List<double> _peaks;
    private readonly double _initialQuantile;

    private Spot(List<double> peaks, double initialQuantile, PotFit fit)
    {
        _peaks = peaks;
        _initialQuantile = initialQuantile;
        Fit = fit;
    }

    /// <summary>The current tail fit; <see cref="PotFit.Threshold"/> is the current alarm threshold z_q.</summary>
    public PotFit Fit { get; private set; }

    /// <summary>The current alarm threshold z_q.</summary>
    public double Threshold => Fit.Threshold;

    /// <summary>Calibrates on <paramref name="calibration"/> (typically the training-period scores).</summary>
    /// <exception cref="SparkAnomalyException">As <see cref="Thresholds.FitPot"/>.</exception>
    public static Spot Initialise(
        ReadOnlySpan<double> calibration, double risk, double initialQuantile = ThresholdSpec.DefaultInitialQuantile)
    {
        var fit = Thresholds.FitPot(calibration, risk, initialQuantile);
        var peaks = new List<double>(fit.PeakCount);
        foreach (var x in calibration)
        {
            if (x > fit.InitialThreshold)
            {
                peaks.Add(x - fit.InitialThreshold);
            }
        }
        return new Spot(peaks, initialQuantile, fit);
    }

    /// <summary>Processes the next score; returns <see langword="true"/> when it is an alarm (above z_q).</summary>
    /// <exception cref="SparkAnomalyException"><paramref name="score"/> is not finite.</exception>
    public bool Step(double score)
    {
        if (!double.IsFinite(score))
        {
            throw new SparkAnomalyException(
                $"SPOT received the non-finite score {score} after {Fit.SampleCount} scores; drop or fix non-finite rows before streaming them.");
        }
        if (score > Fit.Threshold)
        {
            return true;
        }
        double t = Fit.InitialThreshold;
        if (score > t)
        {
            _peaks.Add(score - t);
            Fit = Thresholds.FitTail(_peaks.ToArray(), t, Fit.SampleCount + 1, Fit.Risk, _initialQuantile);
        }
        else
        {
            Fit = Fit with { SampleCount = Fit.SampleCount + 1 };
        }
        return false;
    }
}
