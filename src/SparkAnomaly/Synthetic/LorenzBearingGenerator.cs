using SparkAnomaly.Data;

namespace SparkAnomaly.Synthetic;

/// <summary>Settings of the synthetic bearing-vibration data set.</summary>
public sealed record LorenzBearingOptions
{
    public int HealthyRuns { get; init; } = 6;
    public int FaultyRuns { get; init; } = 4;
    public int Length { get; init; } = 2000;
    public int Channels { get; init; } = 8;

    /// <summary>Where the fault starts in a faulty run, as a fraction of its length (a range; drawn per run).</summary>
    public double FaultStartMin { get; init; } = 0.4;
    public double FaultStartMax { get; init; } = 0.7;
    public double NoiseLevel { get; init; } = 0.05;
    public long Seed { get; init; } = 7;
}

/// <summary>
/// Bearing vibration driven by the Lorenz attractor, as in the seed's DL4J demo: each channel is a
/// sensor's fixed mixture of the attractor's state, modulated by the shaft rotation, plus noise.
/// Healthy runs follow the classic parameters (σ 10, ρ 28, β 8/3). In a faulty run, from a labelled
/// step onward, the dynamics change (ρ rises, a defect adds impulses at the ball-pass frequency), as a
/// spalled race changes a bearing's vibration. Deterministic for a seed. Healthy runs are marked
/// <c>split=train</c>; faulty runs <c>split=test</c>, labelled 0 before the fault and 1 from it.
/// </summary>
public static class LorenzBearingGenerator
{
    private const double Dt = 0.01;
    private const int SubSteps = 1;

    /// <summary>Bounds that keep every run in one array and the whole set in memory; anything larger is a typo.</summary>
    private const int MaxChannels = 1024;

    private const long MaxValues = 1_000_000_000;

    public static SeriesSet Generate(LorenzBearingOptions? options = null)
    {
        var o = options ?? new LorenzBearingOptions();
        if (o.HealthyRuns < 0 || o.FaultyRuns < 0 || o.HealthyRuns + o.FaultyRuns == 0 || o.Length < 10 || o.Channels < 1)
        {
            throw new SparkAnomalyException("generator needs at least one run, a length of 10 or more and at least one channel.");
        }
        long runs = (long)o.HealthyRuns + o.FaultyRuns;
        // In double: the product of three ints can pass long's range, and then a wrapped value would pass the check.
        double values = (double)runs * o.Length * o.Channels;
        if (o.Channels > MaxChannels || values > MaxValues)
        {
            throw new SparkAnomalyException(
                $"generator asked for {runs:N0} runs × {o.Length:N0} steps × {o.Channels:N0} channels = {values:G3} values; it writes at most {MaxChannels} channels and {MaxValues:N0} values (a CSV of tens of GB). Lower --length, --channels, --healthy or --faulty.");
        }
        var rng = new Random(unchecked((int)o.Seed));
        // Each sensor sees the state through its own mounting: fixed mixing weights for x, y, z.
        var mixing = new double[o.Channels, 3];
        for (int c = 0; c < o.Channels; c++)
        {
            for (int k = 0; k < 3; k++)
            {
                mixing[c, k] = rng.NextDouble() * 2 - 1;
            }
        }
        var series = new List<Series>();
        for (int run = 0; run < o.HealthyRuns + o.FaultyRuns; run++)
        {
            bool faulty = run >= o.HealthyRuns;
            int faultStart = faulty ? (int)(o.Length * (o.FaultStartMin + rng.NextDouble() * (o.FaultStartMax - o.FaultStartMin))) : int.MaxValue;
            string id = faulty ? $"bearing-{run - o.HealthyRuns + 1:D2}-faulty" : $"bearing-{run + 1:D2}-healthy";
            series.Add(Run(id, o, mixing, faultStart, new Random(rng.Next())));
        }
        return new SeriesSet(series, Enumerable.Range(1, o.Channels).Select(c => $"sensor_{c}").ToArray(), TimestampKind.Step,
            $"lorenz-bearing(seed={o.Seed})");
    }

    private static Series Run(string id, LorenzBearingOptions o, double[,] mixing, int faultStart, Random rng)
    {
        int f = o.Channels;
        var values = new float[o.Length * f];
        var labels = new sbyte[o.Length];
        var splits = new RowSplit[o.Length];
        var timestamps = new long[o.Length];
        double x = 1 + rng.NextDouble(), y = 1 + rng.NextDouble(), z = 20 + rng.NextDouble() * 5;
        // Let the trajectory settle onto the attractor before recording.
        for (int i = 0; i < 500; i++)
        {
            (x, y, z) = Step(x, y, z, 28.0);
        }
        double shaftPhase = rng.NextDouble() * 2 * Math.PI;
        const double shaftRate = 2 * Math.PI / 32;   // one revolution every 32 samples
        for (int t = 0; t < o.Length; t++)
        {
            bool fault = t >= faultStart;
            double severity = fault ? Math.Min(1.0, (t - faultStart) / 25.0) : 0;
            double rho = 28.0 + 12.0 * severity;
            for (int s = 0; s < SubSteps; s++)
            {
                (x, y, z) = Step(x, y, z, rho);
            }
            shaftPhase += shaftRate;
            double rotation = 1 + 0.2 * Math.Sin(shaftPhase);
            // Ball-pass impulses of a damaged race: a spike every ~5.3 samples, ringing down, felt by
            // every sensor with its own gain. Strong enough to matter: a spalled race is loud.
            double impulse = severity * 4.0 * Math.Exp(-1.5 * ((t * 0.19) % 1.0)) * Math.Cos(2.2 * t);
            for (int c = 0; c < f; c++)
            {
                double state = (mixing[c, 0] * x + mixing[c, 1] * y + mixing[c, 2] * (z - 25)) / 10.0;
                double v = state * rotation + impulse * (0.6 + 0.4 * mixing[c, 0] * mixing[c, 0]) + o.NoiseLevel * Gaussian(rng);
                values[t * f + c] = (float)v;
            }
            labels[t] = fault ? (sbyte)1 : (sbyte)0;
            splits[t] = faultStart == int.MaxValue ? RowSplit.Train : RowSplit.Test;
            timestamps[t] = t;
        }
        return new Series(id, timestamps, values, f, labels, splits);
    }

    private static (double, double, double) Step(double x, double y, double z, double rho)
    {
        const double sigma = 10, beta = 8.0 / 3;
        // Classic RK4: the attractor's geometry, not its exact trajectory, is what matters here.
        (double, double, double) D(double a, double b, double c) => (sigma * (b - a), a * (rho - c) - b, a * b - beta * c);
        var k1 = D(x, y, z);
        var k2 = D(x + Dt / 2 * k1.Item1, y + Dt / 2 * k1.Item2, z + Dt / 2 * k1.Item3);
        var k3 = D(x + Dt / 2 * k2.Item1, y + Dt / 2 * k2.Item2, z + Dt / 2 * k2.Item3);
        var k4 = D(x + Dt * k3.Item1, y + Dt * k3.Item2, z + Dt * k3.Item3);
        return (x + Dt / 6 * (k1.Item1 + 2 * k2.Item1 + 2 * k3.Item1 + k4.Item1),
                y + Dt / 6 * (k1.Item2 + 2 * k2.Item2 + 2 * k3.Item2 + k4.Item2),
                z + Dt / 6 * (k1.Item3 + 2 * k2.Item3 + 2 * k3.Item3 + k4.Item3));
    }

    private static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
