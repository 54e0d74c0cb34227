using SparkAnomaly.Scoring;
using SparkAnomaly.Synthetic;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Skab;

/// <summary>The reconstruction-probability score rule (An &amp; Cho 2015) on a small trained model.</summary>
public sealed class ReconstructionProbabilityTests
{
    [Fact]
    public void Score_ReconstructionProbability_ReproducibleContributionsSumAndFaultsOutrank()
    {
        var data = LorenzBearingGenerator.Generate(new LorenzBearingOptions { HealthyRuns = 2, FaultyRuns = 1, Length = 400, Channels = 4, Seed = 3 });
        var config = new TrainingConfig { Workers = 1, Rounds = 20, WindowLength = 16, HiddenSize = 16, LatentSize = 4, CheckpointEvery = 0, ScoreRule = ScoreRule.ReconstructionProbability };
        var model = Detector.Train(data, config).Model;

        var first = Detector.Score(model, data, out _);
        var second = Detector.Score(model, data, out _);

        Assert.Equal(nameof(ScoreRule.ReconstructionProbability), model.Threshold.ScoreRule);
        for (int i = 0; i < first.Count; i++)
        {
            Assert.Equal(first[i].Score, second[i].Score);   // fixed-seed latent samples
            for (int r = 0; r < first[i].Score.Length; r++)
            {
                Assert.True(double.IsFinite(first[i].Score[r]));
                Assert.Equal(first[i].Score[r], first[i].ContributionsAt(r).ToArray().Sum(), 9);
                // Each channel term includes ½·log 2π, so the negative log-likelihood is bounded below.
                Assert.True(first[i].Score[r] >= 4 * 0.5 * Math.Log(2 * Math.PI) - 1e-6);
            }
        }
        var faulty = first.Single(s => s.Series.Labels!.Contains((sbyte)1));
        var labels = faulty.Series.Labels!;
        double fault = Enumerable.Range(0, labels.Length).Where(r => labels[r] == 1).Average(r => faulty.Score[r]);
        double healthy = Enumerable.Range(0, labels.Length).Where(r => labels[r] == 0).Average(r => faulty.Score[r]);
        Assert.True(fault > healthy, $"mean score in the fault {fault:G4} vs before it {healthy:G4}");
    }
}
