using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Training;

namespace SparkAnomaly.Tests.Scoring;

/// <summary>A reading far outside anything the model was trained on is scored, and flagged, like any other outlier.</summary>
public sealed class AbsurdValueTests
{
    [Theory]
    [InlineData(ScoreRule.CoveringMean)]
    [InlineData(ScoreRule.LastStep)]
    public void AHugeReading_ScoresFinite_AndIsFlagged(ScoreRule rule)
    {
        var model = Detector.Train(TrainingFixtures.SmallData(), TrainingFixtures.Tiny(rounds: 2) with { CheckpointEvery = 0, ScoreRule = rule }).Model;
        var data = TrainingFixtures.SmallData();
        var series = data.Series[0];
        const int Row = 150;
        // 1e20 is a finite float32, but its squared error is not; the reader accepts values up to 1e30.
        series.Values[Row * series.Channels] = 1e20f;

        var scored = Detector.Score(model, data, out _).Single(s => s.Series.Id == series.Id);

        Assert.All(scored.Score, v => Assert.True(double.IsFinite(v), $"score {v}"));
        Assert.All(scored.Contributions, v => Assert.True(double.IsFinite(v), $"contribution {v}"));
        Assert.True(scored.IsAnomaly[Row]);
        // Far above every normal step (those whose windows cannot reach the reading).
        Assert.True(scored.Score[Row] > 1e6 * scored.Score.Take(Row - model.Model.WindowLength).Max());
    }

    [Fact]
    public void AHugeTrainingValue_IsReportedAsSettingTheChannelScale()
    {
        var data = TrainingFixtures.SmallData();
        Assert.Empty(SparkAnomaly.Data.Normaliser.ScaleWarnings(data));
        var series = data.Series[0];
        const int Row = 40, Channel = 2;
        series.Values[Row * series.Channels + Channel] = 1e29f;

        var warning = Assert.Single(SparkAnomaly.Data.Normaliser.ScaleWarnings(data));

        Assert.Contains($"channel {data.ChannelNames[Channel]}", warning);
        Assert.Contains($"series {series.Id} at timestamp {series.Timestamps[Row]}", warning);
        Assert.Contains("1E+29", warning);
    }

    [Fact]
    public void AChannelConstantOnEveryTrainingRow_IsReportedWithWhatToDo()
    {
        var data = TrainingFixtures.SmallData();
        const int Channel = 1;
        foreach (var series in data.Series)
        {
            for (int r = 0; r < series.Length; r++)
            {
                // Like SKAB's changepoint column: 0 on the training rows, 1 elsewhere.
                series.Values[r * series.Channels + Channel] = series.IsTrainable(r) ? 0f : 1f;
            }
        }

        var warning = Assert.Single(SparkAnomaly.Data.Normaliser.ScaleWarnings(data));

        Assert.StartsWith($"channel {data.ChannelNames[Channel]} is 0 on every training row", warning);
        Assert.Contains("--channels", warning);
        Assert.Contains($"--label-column {data.ChannelNames[Channel]}", warning);
    }

    [Fact]
    public void DataFromAnotherOperatingPoint_IsNamedPerChannel_NormalDataIsNot()
    {
        var data = TrainingFixtures.SmallData();
        var normaliser = SparkAnomaly.Data.Normaliser.Fit(data);
        Assert.Empty(normaliser.ShiftWarnings(data));   // the faulty series included
        const int Channel = 3;
        foreach (var series in data.Series)
        {
            for (int r = 0; r < series.Length; r++)
            {
                // As SKAB's flow rate: 122 l/min in the training run, 32 in the one scored.
                series.Values[r * series.Channels + Channel] += 50 * normaliser.Scale[Channel];
            }
        }

        var warning = Assert.Single(normaliser.ShiftWarnings(data));

        Assert.StartsWith($"channel {data.ChannelNames[Channel]}: its mean in '{data.Source}'", warning);
        Assert.Contains("50 training scales from its training mean", warning);
        Assert.Contains("operating conditions", warning);
    }
}
