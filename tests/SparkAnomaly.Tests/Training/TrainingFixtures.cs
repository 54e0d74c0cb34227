using SparkAnomaly.Data;
using SparkAnomaly.Synthetic;
using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Training;

/// <summary>Small data and configs that keep training tests to a few seconds on two cores.</summary>
internal static class TrainingFixtures
{
    public static SeriesSet SmallData(int healthy = 3, int length = 300, long seed = 3) =>
        LorenzBearingGenerator.Generate(new LorenzBearingOptions { HealthyRuns = healthy, FaultyRuns = 1, Length = length, Seed = seed });

    /// <summary>A tiny model (T 16, hidden 8, latent 4): the semantics are the same at any size.</summary>
    public static TrainingConfig Tiny(int workers = 2, int rounds = 4) => new()
    {
        Workers = workers,
        Rounds = rounds,
        BatchSizePerWorker = 16,
        AveragingFrequency = 3,
        WindowLength = 16,
        Stride = 2,
        HiddenSize = 8,
        LatentSize = 4,
        CheckpointEvery = 1,
        Seed = 11,
    };

    public static (ShardData[] Shards, SeriesSet Normalised) Shards(SeriesSet data, TrainingConfig config)
    {
        var normalised = Normaliser.Fit(data).Apply(data);
        return (ShardPlanner.Split(normalised.Series, config.Workers, config.WindowLength, config.Stride, config.Repartition), normalised);
    }

    public static TrainingOutcome RunMaster(TrainingConfig config, ShardData[] shards, MasterOptions? options = null, IReadOnlyList<Fault>? faults = null)
    {
        using var cluster = new LocalCluster(shards, faults);
        var master = new ParameterAveragingMaster(config, config.ModelFor(shards[0].Channels), cluster, shards.Select(s => (long)s.WindowCount).ToArray(), options);
        return master.Run();
    }
}
