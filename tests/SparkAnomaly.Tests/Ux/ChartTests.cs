using SparkAnomaly.Data;
using SparkAnomaly.Reporting;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Tests.Ux;

/// <summary>training.png and the score chart: real PNG files of a plausible size.</summary>
[Collection(UxRunCollection.Name)]
public sealed class ChartTests
{
    private static readonly byte[] s_pngMagic = { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };
    private readonly UxRunFixture _run;

    public ChartTests(UxRunFixture run)
    {
        _run = run;
    }

    [Fact]
    public void Train_WritesTrainingPngBesideStats()
    {
        string png = Path.Combine(_run.RunDir, TrainingChart.FileName);

        Assert.True(File.Exists(png));
        AssertPng(File.ReadAllBytes(png), width: 1000, height: 720);
        Assert.Equal(png, _run.TrainJson.GetProperty("chart").GetString());
    }

    [Fact]
    public void TrainingChart_FromRoundStats_IsPng()
    {
        var rounds = Enumerable.Range(0, 25).Select(r => ProgressTests.Round(r, 100.0 / (r + 1))).ToList();

        var png = TrainingChart.ToPng(rounds, 800, 600);

        AssertPng(png, 800, 600);
    }

    [Fact]
    public void TrainingChart_NoRounds_StillAPng()
    {
        AssertPng(TrainingChart.ToPng(Array.Empty<SparkAnomaly.Training.RoundStats>(), 400, 300), 400, 300);
    }

    [Fact]
    public void ScoresPng_OfAScoredSeries_IsPngAndWritesTheFile()
    {
        var model = ModelFile.Load(_run.ModelFile);
        var data = DataReader.Read(_run.DataCsv);
        var scored = Detector.Score(model, data, out _);
        string file = _run.Scratch("faulty.png");

        var png = Charts.ScoresPng(scored.Single(s => s.Series.Id.Contains("faulty")), model, file);

        AssertPng(png, 1000, 360);
        Assert.Equal(png, File.ReadAllBytes(file));
    }

    private static void AssertPng(byte[] png, int width, int height)
    {
        Assert.True(png.Length > 5_000, $"{png.Length} bytes");
        Assert.Equal(s_pngMagic, png[..8]);
        // IHDR: width and height, big-endian, at bytes 16..23.
        Assert.Equal(width, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)));
        Assert.Equal(height, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)));
    }
}
