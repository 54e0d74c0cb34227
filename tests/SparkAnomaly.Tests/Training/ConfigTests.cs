using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Training;

public sealed class ConfigTests
{
    [Fact]
    public void ShippedTrainJson_ParsesToTheBuiltInDefaults()
    {
        var shipped = TrainingConfig.Load(Path.Combine(TestPaths.RepoRoot, "conf", "train.json"));
        Assert.Equal(new TrainingConfig().ToJson(), shipped.ToJson());
    }

    [Fact]
    public void ShippedTrainJson_DocumentsEveryField()
    {
        var text = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "conf", "train.json"));
        foreach (var field in System.Text.Json.JsonDocument.Parse(new TrainingConfig().ToJson()).RootElement.EnumerateObject().Select(p => p.Name))
        {
            var line = Assert.Single(text, l => l.TrimStart().StartsWith($"\"{field}\"", StringComparison.Ordinal));
            Assert.Contains("//", line);
        }
    }

    [Theory]
    [InlineData("{ \"workers\": 0 }", "workers")]
    [InlineData("{ \"learningRate\": -1 }", "learningRate")]
    [InlineData("{ \"device\": \"gpu\" }", "device")]
    [InlineData("{ \"wokers\": 2 }", "wokers")]
    [InlineData("{ \"rounds\": \"many\" }", "line 1")]
    [InlineData("{ \"seed\": 1, \"rounds\": \"2\" }", "field 'rounds'")]
    [InlineData("{ \"rounds\": 2, \"rounds\": 3 }", "'rounds' twice")]
    [InlineData("{ \"klAnnealEpochs\": -1 }", "klAnnealEpochs is -1")]
    [InlineData("{ \"gradientClip\": -0.5 }", "gradientClip is -0.5")]
    [InlineData("{ \"epochs\": 1e300 }", "epochs is 1E+300")]
    [InlineData("{ \"hiddenSize\": 0 }", "hiddenSize is 0")]
    [InlineData("{ \"threshold\": \"meanstd:-3\" }", "negative")]
    public void InvalidConfig_RefusedNamingTheField(string json, string mentions)
    {
        var e = Assert.ThrowsAny<SparkAnomalyException>(() => SparkAnomaly.Scoring.ThresholdSpec.Parse(TrainingConfig.FromJson(json, "test.json").Validate().Threshold));
        Assert.Contains(mentions, e.Message);
    }

    [Fact]
    public void ResultHash_IgnoresOperationalFields_TracksResultFields()
    {
        var a = new TrainingConfig();
        Assert.Equal(a.ResultHash(), (a with { ThreadsPerWorker = 2, Device = "cpu", CheckpointEvery = 1, MaxTaskRetries = 9 }).ResultHash());
        Assert.NotEqual(a.ResultHash(), (a with { Seed = 1 }).ResultHash());
        Assert.NotEqual(a.ResultHash(), (a with { Workers = 3 }).ResultHash());
        Assert.NotEqual(a.ResultHash(), (a with { CalibrationRows = 5 }).ResultHash());
    }

    [Fact]
    public void DiffersFrom_IgnoringLength_LeavesOutRoundsAndEpochsOnly()
    {
        var a = new TrainingConfig();
        var longer = a with { Rounds = 80, Epochs = 3, Seed = 7 };

        Assert.Equal(["epochs: null -> 3", "rounds: 40 -> 80", "seed: 42 -> 7"], longer.DiffersFrom(a));
        Assert.Equal(["seed: 42 -> 7"], longer.DiffersFrom(a, ignoreLength: true));
        Assert.Empty((a with { Rounds = 80, Device = "cpu" }).DiffersFrom(a, ignoreLength: true));
    }

    [Fact]
    public void ResultHash_OfConfigsWithoutNewerFields_IsTheOneEarlierVersionsWroteIntoCheckpoints()
    {
        // Printed by the library at commit 5d6e8a4 (before calibrationRows existed): a checkpoint written then must
        // still resume under the same settings, so a field at its default may not change the hash.
        var a = new TrainingConfig();
        Assert.Equal(0x1156b749be33a014UL, a.ResultHash());
        Assert.Equal(0x70fc5cf5280a4e00UL, (a with { Seed = 7, Workers = 3 }).ResultHash());
    }
}
