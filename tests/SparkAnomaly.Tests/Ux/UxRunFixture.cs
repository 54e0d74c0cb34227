using System.Text.Json;

namespace SparkAnomaly.Tests.Ux;

/// <summary>
/// One small generate → train → score run shared by the Ux tests: 3 series × 300 steps × 8 channels,
/// window 16, 3 rounds (a few seconds). The model has the default shape for 8 channels.
/// </summary>
public sealed class UxRunFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public UxRunFixture()
    {
        DataDir = Path.Combine(_dir.Path, "data");
        RunDir = Path.Combine(_dir.Path, "run");
        ScoredDir = Path.Combine(_dir.Path, "scored");
        var generate = Cli.CliTests.Run("generate", "--out", DataDir, "--healthy", "2", "--faulty", "1", "--length", "300", "--json");
        Check(generate, "generate");
        GenerateJson = JsonDocument.Parse(generate.Out).RootElement.Clone();
        var train = Cli.CliTests.Run("train", "--data", DataCsv, "--out", RunDir, "--rounds", "3", "--window", "16", "--json", "--quiet");
        Check(train, "train");
        TrainJson = JsonDocument.Parse(train.Out).RootElement.Clone();
        var score = Cli.CliTests.Run("score", "--model", ModelFile, "--data", DataCsv, "--out", ScoredDir, "--json", "--quiet");
        Check(score, "score");
        ScoreJson = JsonDocument.Parse(score.Out).RootElement.Clone();
    }

    public string DataDir { get; }

    public string DataCsv => Path.Combine(DataDir, "data.csv");

    public string RunDir { get; }

    public string ModelFile => Path.Combine(RunDir, "model.parquet");

    public string ScoredDir { get; }

    public string ScoresFile => Path.Combine(ScoredDir, "scores.parquet");

    public string Scratch(string name) => Path.Combine(_dir.Path, name);

    public JsonElement GenerateJson { get; }

    public JsonElement TrainJson { get; }

    public JsonElement ScoreJson { get; }

    public void Dispose() => _dir.Dispose();

    private static void Check((int Code, string Out, string Err) r, string what)
    {
        if (r.Code != 0)
        {
            throw new InvalidOperationException($"{what} failed with exit code {r.Code}: {r.Err}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class UxRunCollection : ICollectionFixture<UxRunFixture>
{
    public const string Name = "Ux run";
}
