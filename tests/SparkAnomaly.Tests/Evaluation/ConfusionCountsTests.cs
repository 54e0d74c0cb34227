using SparkAnomaly.Evaluation;

namespace SparkAnomaly.Tests.Evaluation;

public sealed class ConfusionCountsTests
{
    [Fact]
    public void Ratios_HandMadeCounts_MatchHandComputedValues()
    {
        var c = new ConfusionCounts(TP: 3, FP: 1, FN: 1, TN: 3);

        Assert.Equal(0.75, c.F1, 12); // 3 / (3 + (1 + 1) / 2)
        Assert.Equal(0.75, c.Precision, 12);
        Assert.Equal(0.75, c.Recall, 12);
        Assert.Equal(25.0, c.Far, 12); // 1 / (1 + 3) * 100
        Assert.Equal(25.0, c.Mar, 12);
        Assert.Equal(8, c.Total);
    }

    [Fact]
    public void F1_SkabDefinition_EqualsHarmonicMeanOfPrecisionAndRecall()
    {
        var c = new ConfusionCounts(TP: 7, FP: 5, FN: 2, TN: 11);

        double harmonic = 2 * c.Precision * c.Recall / (c.Precision + c.Recall);

        Assert.Equal(harmonic, c.F1, 12);
    }

    [Fact]
    public void Ratios_NoRows_AreZeroNotNaN()
    {
        var c = ConfusionCounts.Zero;

        Assert.Equal(0, c.F1);
        Assert.Equal(0, c.Precision);
        Assert.Equal(0, c.Recall);
        Assert.Equal(0, c.Far);
        Assert.Equal(0, c.Mar);
    }

    [Fact]
    public void Add_TwoCounts_SumsEachField()
    {
        var sum = new ConfusionCounts(1, 2, 3, 4).Add(new ConfusionCounts(10, 20, 30, 40));

        Assert.Equal(new ConfusionCounts(11, 22, 33, 44), sum);
    }
}
