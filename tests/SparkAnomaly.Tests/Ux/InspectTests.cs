namespace SparkAnomaly.Tests.Ux;

/// <summary>inspect's text output: what a person reads first.</summary>
[Collection(UxRunCollection.Name)]
public sealed class InspectTests
{
    private readonly UxRunFixture _run;

    public InspectTests(UxRunFixture run)
    {
        _run = run;
    }

    [Fact]
    public void InspectModel_Text_ShowsShapeNormaliserThresholdProvenanceAndParameters()
    {
        var (code, stdout, stderr) = Cli.CliTests.Run("inspect", _run.ModelFile);

        Assert.True(code == 0, stderr);
        Assert.Contains("(format 1, checksum verified (parameters and metadata))", stdout);
        Assert.Contains("8 channels, window 16, hidden 64, latent 16", stdout);
        Assert.Contains("42,536 in 14 tensors", stdout);
        Assert.Contains("enc.weight_ih_l0  256x8", stdout);
        Assert.Contains("percentile:99.9", stdout);
        // Settings are spelled as the command line and conf/train.json spell them, not as C# enum names.
        Assert.Contains("score rule covering-mean)", stdout);
        Assert.Contains("normaliser      z-score per channel", stdout);
        Assert.Contains("seed 42, 3 rounds, 2 workers", stdout);
        Assert.Contains("fingerprint", stdout);
        for (int c = 1; c <= 8; c++)
        {
            Assert.Contains($"sensor_{c}", stdout);
        }
        Assert.Equal("", stderr);
    }

    [Fact]
    public void InspectModel_OlderFileWithoutMetadataChecksum_SaysTheMetadataWasNotCovered()
    {
        using var dir = new TempDir();
        string older = Reliability.UntrustedModelFiles.Rewrite(dir.File("older.parquet"), "metadata_checksum", null);

        var (code, stdout, stderr) = Cli.CliTests.Run("inspect", older);
        var (jsonCode, json, _) = Cli.CliTests.Run("inspect", older, "--json");

        Assert.True(code == 0, stderr);
        Assert.Contains("(format 1, parameter checksum verified; metadata not covered (older file))", stdout);
        Assert.DoesNotContain("parameters and metadata", stdout);
        Assert.Equal(0, jsonCode);
        var root = System.Text.Json.JsonDocument.Parse(json).RootElement;
        Assert.True(root.GetProperty("checksumVerified").GetBoolean());
        Assert.False(root.GetProperty("metadataChecksumVerified").GetBoolean());
    }

    [Fact]
    public void InspectModel_ReconstructionProbability_ShowsEachChannelsResidualVariance()
    {
        var m = SparkAnomaly.Scoring.ModelFile.Load(_run.ModelFile);
        var variance = Enumerable.Range(1, 8).Select(c => c / 16.0).ToArray();
        using var dir = new TempDir();
        SparkAnomaly.Scoring.ModelFile.Save(m.WithThreshold(m.Threshold with { ScoreRule = "ReconstructionProbability", ChannelVariance = variance }), dir.File("model.parquet"));

        var (code, stdout, stderr) = Cli.CliTests.Run("inspect", dir.File("model.parquet"));

        Assert.True(code == 0, stderr);
        Assert.Contains("residual σ²", stdout);
        Assert.Contains(stdout.Split('\n'), l => l.TrimStart().StartsWith("sensor_2 ", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" 0.125", StringComparison.Ordinal));
        Assert.DoesNotContain("residual σ²", Cli.CliTests.Run("inspect", _run.ModelFile).Out);
    }

    [Fact]
    public void InspectScores_Text_OneLinePerSeries()
    {
        var (code, stdout, stderr) = Cli.CliTests.Run("inspect", _run.ScoresFile);

        Assert.True(code == 0, stderr);
        Assert.Contains("900 in 3 series", stdout);
        Assert.Contains("first alarm", stdout);
        Assert.Contains("labelled 1", stdout);
        Assert.Equal(3, stdout.Split('\n').Count(l => l.TrimStart().StartsWith("bearing-", StringComparison.Ordinal)));
    }

    [Fact]
    public void InspectShardPlan_Text_ShowsWorkersAndImbalance()
    {
        var (code, stdout, stderr) = Cli.CliTests.Run("inspect", "--data", _run.DataCsv, "--workers", "2", "--window", "16");

        Assert.True(code == 0, stderr);
        Assert.Contains("570 trainable windows of 16 steps", stdout);
        Assert.Contains("whole series per worker", stdout);
        Assert.Contains("imbalance       1.000", stdout);
        Assert.Contains("bearing-01-healthy (1)", stdout);
        Assert.Contains("bearing-02-healthy (1)", stdout);
        Assert.Contains("not trained on  1 series", stdout);
    }

    [Fact]
    public void InspectShardPlan_Repartition_Always_SplitsByWindowRanges()
    {
        var (code, stdout, stderr) = Cli.CliTests.Run("inspect", "--data", _run.DataCsv, "--workers", "4", "--window", "16", "--repartition", "always");

        Assert.True(code == 0, stderr);
        Assert.Contains("window ranges", stdout);
    }
}
