using SparkAnomaly.Data;
using SparkAnomaly.Scoring;
using SparkAnomaly.Synthetic;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Skab;

/// <summary>The reconstruction-probability score rule (An &amp; Cho 2015) on a small trained model.</summary>
public sealed class ReconstructionProbabilityTests
{
    private static readonly Lazy<(SeriesSet Data, TrainedModel Model)> s_trained = new(() =>
    {
        var data = LorenzBearingGenerator.Generate(new LorenzBearingOptions { HealthyRuns = 2, FaultyRuns = 1, Length = 400, Channels = 4, Seed = 3 });
        var config = new TrainingConfig { Workers = 1, Rounds = 20, WindowLength = 16, HiddenSize = 16, LatentSize = 4, CheckpointEvery = 0, ScoreRule = ScoreRule.ReconstructionProbability };
        return (data, Detector.Train(data, config).Model);
    });

    [Fact]
    public void Score_ReconstructionProbability_ReproducibleContributionsSumAndFaultsOutrank()
    {
        var (data, model) = s_trained.Value;

        var first = Detector.Score(model, data, out _);
        var second = Detector.Score(model, data, out _);

        Assert.Equal(nameof(ScoreRule.ReconstructionProbability), model.Threshold.ScoreRule);
        var variance = model.Threshold.ChannelVariance!;
        // Each channel term is ½(x − x̂)²/σ² + ½·log 2πσ², so the negative log-likelihood is bounded below.
        double floor = variance.Sum(v => 0.5 * Math.Log(2 * Math.PI * v));
        for (int i = 0; i < first.Count; i++)
        {
            Assert.Equal(first[i].Score, second[i].Score);   // fixed-seed latent samples
            for (int r = 0; r < first[i].Score.Length; r++)
            {
                Assert.True(double.IsFinite(first[i].Score[r]));
                Assert.Equal(first[i].Score[r], first[i].ContributionsAt(r).ToArray().Sum(), 9);
                Assert.True(first[i].Score[r] >= floor - 1e-5, $"score {first[i].Score[r]} below the bound {floor}");
            }
        }
        var faulty = first.Single(s => s.Series.Labels!.Contains((sbyte)1));
        var labels = faulty.Series.Labels!;
        double fault = Enumerable.Range(0, labels.Length).Where(r => labels[r] == 1).Average(r => faulty.Score[r]);
        double healthy = Enumerable.Range(0, labels.Length).Where(r => labels[r] == 0).Average(r => faulty.Score[r]);
        Assert.True(fault > healthy, $"mean score in the fault {fault:G4} vs before it {healthy:G4}");
    }

    [Fact]
    public void Train_ReconstructionProbability_FitsEachChannelsResidualVarianceOnTheThresholdRows()
    {
        var (data, model) = s_trained.Value;
        var variance = model.Threshold.ChannelVariance;

        Assert.NotNull(variance);
        Assert.Equal(data.Channels, variance.Length);
        Assert.All(variance, v => Assert.True(v >= Scorer.MinResidualVariance && double.IsFinite(v), $"variance {v}"));
        // The maximum-likelihood variance of the training rows' residuals: on those rows each channel's mean
        // standardised term ½(x − x̂)²/σ² is ½ (the latent samples are seeded, so rescoring sees the same residuals).
        var scored = Detector.Score(model, data, out _);
        for (int c = 0; c < data.Channels; c++)
        {
            double sum = 0;
            long rows = 0;
            foreach (var s in scored)
            {
                for (int r = 0; r < s.Series.Length; r++)
                {
                    if (s.Series.IsTrainable(r))
                    {
                        sum += s.ContributionsAt(r)[c] - 0.5 * Math.Log(2 * Math.PI * variance[c]);
                        rows++;
                    }
                }
            }
            if (variance[c] > Scorer.MinResidualVariance)
            {
                Assert.Equal(0.5, sum / rows, 3);
            }
        }
        Assert.True(variance.Max() / variance.Min() > 1.05, $"channel variances {string.Join(", ", variance)} should differ: the channels are not reconstructed equally well");
    }

    [Fact]
    public void Score_ReconstructionProbabilityLastStep_SameWindowScoresButCausal()
    {
        var (data, model) = s_trained.Value;
        var causal = model.WithThreshold(model.Threshold with { ScoreRule = nameof(ScoreRule.ReconstructionProbabilityLastStep) });
        var series = data.Series[0];
        int t = model.Model.WindowLength, n = series.Length, k = 200;
        var values = series.Values.ToArray();
        values[k * series.Channels] += 5;   // a jump in channel 0 at row k
        var jumped = new SeriesSet(new[] { new Series(series.Id, series.Timestamps, values, series.Channels, series.Labels, series.Splits) }, data.ChannelNames, data.TimestampKind, data.Source);
        var one = new SeriesSet(new[] { series }, data.ChannelNames, data.TimestampKind, data.Source);

        var covering = Detector.Score(model, one, out _)[0].Score;
        var last = Detector.Score(causal, one, out _)[0].Score;
        var lastJumped = Detector.Score(causal, jumped, out _)[0].Score;
        var coveringJumped = Detector.Score(model, jumped, out _)[0].Score;

        // Row 0 and the last row are covered by one window each: the first and the last.
        Assert.All(last.Take(t), v => Assert.Equal(covering[0], v, 9));
        Assert.Equal(covering[n - 1], last[n - 1], 9);
        // Causal: nothing before the jump moves; the covering mean rises up to T − 1 rows early.
        Assert.Equal(last.Take(k), lastJumped.Take(k));
        Assert.True(lastJumped[k] > last[k]);
        Assert.True(coveringJumped[k - t + 1] > covering[k - t + 1]);
        Assert.True(Detector.NeedsResidualVariance(causal.WithThreshold(causal.Threshold with { ChannelVariance = null })));
    }

    [Fact]
    public void Score_ModelWithoutChannelVariance_ScoresWithUnitVarianceAsModelsWrittenBeforeTheField()
    {
        var (data, model) = s_trained.Value;
        var old = model.WithThreshold(model.Threshold with { ChannelVariance = null });
        var ones = model.WithThreshold(model.Threshold with { ChannelVariance = Enumerable.Repeat(1.0, data.Channels).ToArray() });

        var unit = Detector.Score(old, data, out _);
        var explicitOnes = Detector.Score(ones, data, out _);
        var fitted = Detector.Score(model, data, out _);

        for (int i = 0; i < unit.Count; i++)
        {
            Assert.Equal(unit[i].Score, explicitOnes[i].Score);
            Assert.True(unit[i].Score.Min() >= data.Channels * 0.5 * Math.Log(2 * Math.PI) - 1e-6);
            Assert.NotEqual(unit[i].Score, fitted[i].Score);
        }
        Assert.True(Detector.NeedsResidualVariance(old));
        Assert.False(Detector.NeedsResidualVariance(model));
    }

    [Fact]
    public void ModelFile_ChannelVariance_RoundTripsAndScoresIdentically_WrongLengthIsRefused()
    {
        var (data, model) = s_trained.Value;
        using var dir = new TempDir();
        string path = dir.File("model.parquet");

        ModelFile.Save(model, path);
        var loaded = ModelFile.Load(path);
        Assert.Contains("\"ChannelVariance\":[", ThresholdMetadata(path));   // readable without our code
        // Version 2, so that builds which would ignore the variance refuse the file instead of mis-scoring.
        Assert.Equal(ModelFile.FormatVersionWithChannelVariance, Metadata(path, "format_version"));

        Assert.Equal(model.Threshold.ChannelVariance, loaded.Threshold.ChannelVariance);
        Assert.Equal(Detector.Score(model, data, out _)[0].Score, Detector.Score(loaded, data, out _)[0].Score);
        Assert.Equal(model.Threshold.ChannelVariance, TrainedModel.FromBytes(model.ToBytes()).Threshold.ChannelVariance);

        // Without a variance the field is not written: the file is what versions before it wrote, and loads as unit variance.
        var old = model.WithThreshold(model.Threshold with { ChannelVariance = null });
        ModelFile.Save(old, path);
        Assert.DoesNotContain("ChannelVariance", ThresholdMetadata(path));
        Assert.Equal(ModelFile.FormatVersion, Metadata(path, "format_version"));
        var oldLoaded = ModelFile.Load(path);
        Assert.Null(oldLoaded.Threshold.ChannelVariance);
        Assert.Equal(old.ModelId, oldLoaded.ModelId);
        // The record's JSON without a variance is the JSON of the record as it was before the field (its five members),
        // so a model's id, which hashes that JSON, did not change with the field.
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(new { old.Threshold.Method, old.Threshold.Value, old.Threshold.FittedOnSteps, old.Threshold.ScoreRule, old.Threshold.PerSeries }, ModelFile.MetadataJson),
            System.Text.Json.JsonSerializer.Serialize(old.Threshold, ModelFile.MetadataJson));

        var bad = model.WithThreshold(model.Threshold with { ChannelVariance = new[] { 1.0, 1.0 } });
        var e = Assert.Throws<SparkAnomalyException>(() => TrainedModel.FromBytes(bad.ToBytes()));
        Assert.Contains("channel variance has 2 values for a model of 4 channels", e.Message);
    }

    private static string ThresholdMetadata(string path) => Metadata(path, "threshold");

    /// <summary>One <c>sparkanomaly.*</c> metadata value of a model file, as DuckDB reads it.</summary>
    private static string Metadata(string path, string key)
    {
        using var db = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT decode(value) FROM parquet_kv_metadata('{path}') WHERE decode(key) = 'sparkanomaly.{key}'";
        return (string)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void ResidualVariance_IsTwiceTheMeanContributionMinusLogTwoPi_WithAFloor()
    {
        double half = 0.5 * Math.Log(2 * Math.PI);

        var variance = Scorer.ResidualVariance(new[] { half + 0.5, half + 0.125, half });

        Assert.Equal(1.0, variance[0], 12);
        Assert.Equal(0.25, variance[1], 12);
        Assert.Equal(Scorer.MinResidualVariance, variance[2]);
        Assert.Throws<SparkAnomalyException>(() => Scorer.ResidualVariance(new[] { double.NaN }));
    }
}
