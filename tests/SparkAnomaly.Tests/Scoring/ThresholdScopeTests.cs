using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Cli;
using SparkAnomaly.Tests.Training;

namespace SparkAnomaly.Tests.Scoring;

public sealed class ThresholdScopeTests
{
    [Fact]
    public void PerSeries_EachTrainingSeriesGetsItsOwnThreshold_UsedForItsFlags_AndSurvivesTheModelFile()
    {
        var data = TrainingFixtures.SmallData(healthy: 3);
        var config = TrainingFixtures.Tiny(rounds: 2) with { CheckpointEvery = 0, ThresholdScope = ThresholdScope.PerSeries, Threshold = "percentile:99" };

        var model = Detector.Train(data, config).Model;

        var trainingSeries = data.Series.Where(s => Enumerable.Range(0, s.Length).Any(s.IsTrainable)).Select(s => s.Id).ToList();
        Assert.Equal(trainingSeries.OrderBy(x => x), model.Threshold.PerSeries!.Keys.OrderBy(x => x));
        Assert.True(model.Threshold.PerSeries!.Values.Distinct().Count() > 1);
        var scored = Detector.Score(model, data, out _);
        foreach (var s in scored)
        {
            double own = model.Threshold.For(s.Series.Id);
            Assert.Equal(own, s.Threshold);
            Assert.Equal(s.Score.Select(v => v > own), s.IsAnomaly);
        }
        // A series unknown to the model (the faulty run is split=test) falls back to the global value.
        Assert.Equal(model.Threshold.Value, model.Threshold.For(data.Series.Single(s => !trainingSeries.Contains(s.Id)).Id));

        using var dir = new TempDir();
        ModelFile.Save(model, dir.File("model.parquet"));
        Assert.Equal(model.Threshold.PerSeries, ModelFile.Load(dir.File("model.parquet")).Threshold.PerSeries);

        // What score tells a person: per-series thresholds, how many series had their own, and the global fallback.
        SparkAnomaly.Data.SeriesWriter.WriteCsv(data, dir.File("data.csv"));
        var (code, stdout, stderr) = CliTests.Run("score", "--model", dir.File("model.parquet"), "--data", dir.File("data.csv"), "--out", dir.File("scored"));
        Assert.True(code == 0, stderr);
        Assert.Contains($"per-series thresholds: {trainingSeries.Count} of {data.Series.Count} series their own, the others the global", stdout);
        var inspect = CliTests.Run("inspect", dir.File("model.parquet"));
        Assert.Contains($"{trainingSeries.Count} series have their own threshold", inspect.Out);
    }

    [Fact]
    public void AlarmFilter_AtScoring_DropsShortRunsAndMergesGaps()
    {
        var data = TrainingFixtures.SmallData();
        var model = Detector.Train(data, TrainingFixtures.Tiny(rounds: 2) with { CheckpointEvery = 0, Threshold = "percentile:90" }).Model;
        var filter = new AlarmFilter(MinDuration: 5, MergeGap: 2);

        var raw = Detector.Score(model, data, out _);
        var filtered = Detector.Score(model, data, out _, filter);

        for (int i = 0; i < raw.Count; i++)
        {
            Assert.Equal(filter.Apply(raw[i].IsAnomaly), filtered[i].IsAnomaly);
            Assert.All(SparkAnomaly.Evaluation.Metrics.Segments(filtered[i].IsAnomaly), seg => Assert.True(seg.EndExclusive - seg.Start >= 5));
        }
    }

    [Theory]
    [InlineData("--min-duration", "minimum duration")]
    [InlineData("--persistence", "persistence 0")]
    public void ScoreCommand_BadAlarmFilter_ExitCode1BeforeAnyOutput(string option, string fragment)
    {
        using var dir = new TempDir();
        var (code, _, stderr) = CliTests.Run("score", "--model", "m.parquet", "--data", "d.csv", "--out", dir.File("o"), option, "0");
        Assert.Equal(1, code);
        Assert.Contains(fragment, stderr);
        Assert.False(Directory.Exists(dir.File("o")));
    }
}
