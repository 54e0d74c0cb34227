using SparkAnomaly.Data;
using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Cli;
using SparkAnomaly.Tests.Training;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Scoring;

/// <summary><c>calibrationRows</c>: the threshold is fitted on held-out, out-of-sample scores.</summary>
public sealed class CalibrationRowsTests
{
    private const int Held = 40;

    [Fact]
    public void Train_WithCalibrationRows_FitsTheThresholdOnTheHeldOutRowsOnly_AndNeverTrainsOnThem()
    {
        var data = TrainingFixtures.SmallData(healthy: 3);
        var config = TrainingFixtures.Tiny(rounds: 2) with { CheckpointEvery = 0, Threshold = "percentile:99", CalibrationRows = Held };

        var run = Detector.Train(data, config);

        // Independently: the rule on the scores of each training series' last 40 trainable rows.
        var scored = Detector.Score(run.Model, data, out _);
        var expected = scored
            .Where(s => Enumerable.Range(0, s.Series.Length).Any(s.Series.IsTrainable))
            .SelectMany(s => Enumerable.Range(0, s.Series.Length).Where(s.Series.IsTrainable).TakeLast(Held).Select(r => s.Score[r]))
            .ToArray();
        Assert.Equal(3 * Held, run.Model.Threshold.FittedOnSteps);
        Assert.Equal(Thresholds.Fit(expected, ThresholdSpec.Parse("percentile:99")), run.Model.Threshold.Value);
        Assert.Contains("held out", run.Model.Threshold.Method);

        // Training saw neither the rows nor their values: the windows and the normaliser are those of the data
        // with the rows marked split=test.
        var heldOut = Detector.HoldOutCalibrationRows(data, Held, config.WindowLength);
        var (shards, _) = TrainingFixtures.Shards(heldOut, config);
        Assert.Equal(shards.Sum(s => (long)s.WindowCount), run.TrainingWindows);
        Assert.Equal(Normaliser.Fit(heldOut).Offset, run.Model.Normaliser.Offset);
        Assert.NotEqual(Normaliser.Fit(data).Offset, run.Model.Normaliser.Offset);
    }

    [Fact]
    public void HoldOutCalibrationRows_MarksTheLastTrainableRowsOfEachSeries_AndSharesTheValues()
    {
        var data = TrainingFixtures.SmallData(healthy: 2);

        var heldOut = Detector.HoldOutCalibrationRows(data, Held, 16);

        for (int i = 0; i < data.Series.Count; i++)
        {
            var before = data.Series[i];
            var after = heldOut.Series[i];
            Assert.Same(before.Values, after.Values);
            var trainable = Enumerable.Range(0, before.Length).Where(before.IsTrainable).ToList();
            var expected = trainable.Take(Math.Max(0, trainable.Count - Held)).ToList();
            Assert.Equal(expected, Enumerable.Range(0, after.Length).Where(after.IsTrainable).ToList());
        }
    }

    [Fact]
    public void Train_CalibrationRowsLeavingNothingToTrainOn_FailsNamingTheField()
    {
        var data = TrainingFixtures.SmallData(healthy: 1);
        var config = TrainingFixtures.Tiny(rounds: 1) with { CheckpointEvery = 0, CalibrationRows = 1_000_000 };

        var ex = Assert.Throws<SparkAnomalyException>(() => Detector.Train(data, config));

        Assert.Contains("calibrationRows 1000000", ex.Message);
        Assert.Contains("Lower calibrationRows", ex.Message);
    }

    [Fact]
    public void TrainCommand_NegativeCalibrationRows_ExitsOneNamingTheField()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = CliTests.Run("train", "--data", "d.csv", "--out", dir.File("o"), "--calibration-rows", "-1");

        Assert.Equal(1, code);
        Assert.Contains("calibrationRows is -1", stderr);
        Assert.False(Directory.Exists(dir.File("o")));
    }
}
