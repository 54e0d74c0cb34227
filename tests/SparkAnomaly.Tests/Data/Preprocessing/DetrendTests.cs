using SparkAnomaly.Data;
using SparkAnomaly.Data.Preprocessing;
using SparkAnomaly.Evaluation;

namespace SparkAnomaly.Tests.Data.Preprocessing;

public sealed class DetrendTests
{
    private static readonly string[] Names = { "a", "temp", "b" };

    /// <summary>Three channels, 200 rows: noise, a slow ramp plus noise, a sine.</summary>
    private static float[] Values(int rows = 200, int seed = 3)
    {
        var rng = new Random(seed);
        var v = new float[rows * 3];
        for (int r = 0; r < rows; r++)
        {
            v[r * 3] = (float)rng.NextDouble();
            v[r * 3 + 1] = 20f + 0.05f * r + (float)(0.1 * rng.NextDouble());
            v[r * 3 + 2] = (float)Math.Sin(r / 5.0);
        }
        return v;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(60)]
    public void Transform_IsCausal_PrefixOfTransformEqualsTransformOfPrefix(int window)
    {
        // What makes it safe for SKAB: transforming the whole file and cutting the training part equals
        // transforming the training part alone, so test rows cannot influence training rows.
        var all = Values();
        var full = Detrend.Transform(all, 3, new[] { 1 }, window);
        var prefix = Detrend.Transform(all.AsSpan(0, 120 * 3), 3, new[] { 1 }, window);

        Assert.Equal(prefix, full.AsSpan(0, 120 * 3).ToArray());
    }

    [Fact]
    public void Transform_LaterRowsChanged_EarlierOutputsUnchanged()
    {
        var a = Values();
        var b = (float[])a.Clone();
        for (int i = 150 * 3; i < b.Length; i++)
        {
            b[i] += 1000f;
        }

        var ta = Detrend.Transform(a, 3, new[] { 0, 1, 2 }, 30);
        var tb = Detrend.Transform(b, 3, new[] { 0, 1, 2 }, 30);

        Assert.Equal(ta.AsSpan(0, 150 * 3).ToArray(), tb.AsSpan(0, 150 * 3).ToArray());
        Assert.NotEqual(ta[150 * 3 + 1], tb[150 * 3 + 1]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(100)]
    public void Invert_WithTheFirstRowAsAnchor_RecoversTheRawValues(int window)
    {
        var x = Values();
        var idx = new[] { 1, 2 };
        var y = Detrend.Transform(x, 3, idx, window);

        var back = Detrend.Invert(y, x.AsSpan(0, 3), 3, idx, window);

        for (int i = 0; i < x.Length; i++)
        {
            Assert.True(Math.Abs(back[i] - x[i]) < 1e-3, $"value {i}: {back[i]} vs {x[i]}");
        }
    }

    [Fact]
    public void Transform_Difference_IsTheFirstDifferenceAndLeavesOtherChannelsAlone()
    {
        var x = Values();
        var y = Detrend.Transform(x, 3, new[] { 1 }, 1);

        Assert.Equal(0f, y[1]);
        for (int r = 1; r < 200; r++)
        {
            Assert.Equal(x[r * 3 + 1] - x[(r - 1) * 3 + 1], y[r * 3 + 1], 4);
            Assert.Equal(x[r * 3], y[r * 3]);
            Assert.Equal(x[r * 3 + 2], y[r * 3 + 2]);
        }
    }

    [Fact]
    public void Transform_MovingAverage_RemovesALinearTrendToAConstant()
    {
        // x = a + b·r: x[r] − mean(x[r−W..r−1]) = b·(W+1)/2 once W rows are available.
        const int w = 10;
        var x = Enumerable.Range(0, 100).Select(r => 5f + 0.5f * r).ToArray();

        var y = Detrend.Transform(x, 1, new[] { 0 }, w);

        for (int r = w; r < 100; r++)
        {
            Assert.Equal(0.5 * (w + 1) / 2, y[r], 3);
        }
    }

    [Theory]
    [InlineData("none", null)]
    [InlineData("diff", 1)]
    [InlineData("ma:60", 60)]
    public void Parse_AcceptedForms(string text, int? window)
    {
        Assert.Equal(window, Detrend.Parse(text, Names)?.Window);
    }

    [Theory]
    [InlineData("ma:0")]
    [InlineData("ma")]
    [InlineData("ewma:3")]
    public void Parse_BadForm_SaysWhatIsAccepted(string text)
    {
        var e = Assert.Throws<SparkAnomalyException>(() => Detrend.Parse(text, Names));
        Assert.Contains("ma:W", e.Message);
    }

    [Fact]
    public void Apply_UnknownChannel_NamesTheChannels()
    {
        var set = new SeriesSet(new[] { new Series("s", Enumerable.Range(0, 200).Select(i => (long)i).ToArray(), Values(), 3) }, Names, TimestampKind.Step, "mem");

        var e = Assert.Throws<SparkAnomalyException>(() => new Detrend(5, new[] { "nope" }).Apply(set));
        Assert.Contains("temp", e.Message);
        var applied = new Detrend(1, new[] { "temp" }).Apply(set);
        Assert.Equal(0f, applied.Series[0].Values[1]);
        Assert.Equal(set.Series[0].Values[0], applied.Series[0].Values[0]);
    }

    [Fact]
    public void WeightedScore_UnitWeights_EqualsThePlainSum()
    {
        var contributions = new[] { 0.1, 0.2, 0.3, 1.5, 2.5, 3.5 };

        Assert.Equal(new[] { 0.1 + 0.2 + 0.3, 1.5 + 2.5 + 3.5 }, SkabBenchmark.WeightedScore(contributions, 3, new[] { 1.0, 1.0, 1.0 }));
    }

    [Fact]
    public void ChannelWeights_HeldOut_AreInverseMeanErrorsOfTheHeldOutRowsOnly()
    {
        // Rows 0–1 fitted, rows 2–3 held out; channel 1 drifts in the held-out rows.
        var contributions = new[] { 1.0, 1.0, 1.0, 1.0, 2.0, 4.0, 2.0, 8.0 };

        Assert.Equal(new[] { 0.5, 1.0 / 6 }, SkabBenchmark.ChannelWeights(SkabChannelWeighting.HeldOutError, contributions, 2, 0, 2, 2, 2));
        Assert.Equal(new[] { 1.0, 1.0 }, SkabBenchmark.ChannelWeights(SkabChannelWeighting.FitError, contributions, 2, 0, 2, 2, 2));
        Assert.Equal(new[] { 1.0, 1.0 }, SkabBenchmark.ChannelWeights(SkabChannelWeighting.None, contributions, 2, 0, 2, 2, 2));
    }
}
