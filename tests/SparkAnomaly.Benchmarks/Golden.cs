using SparkAnomaly.Data;
using SparkAnomaly.Training;

namespace SparkAnomaly.Benchmarks;

/// <summary>
/// `--golden`: checksums of the parameters and Adam state after short framework runs (N=1 and N=2,
/// with and without updater averaging, SGD). A hot-path change must leave them unchanged: run it
/// before and after and compare.
/// </summary>
internal static class Golden
{
    public static void Run(TextWriter output)
    {
        var data = SparkAnomaly.Synthetic.LorenzBearingGenerator.Generate(new SparkAnomaly.Synthetic.LorenzBearingOptions { HealthyRuns = 3, FaultyRuns = 1, Length = 400, Seed = 3 });
        var normalised = Normaliser.Fit(data).Apply(data);
        foreach (var (workers, avgUpd, opt, threads) in new[] { (1, true, OptimizerKind.Adam, 1), (2, true, OptimizerKind.Adam, 1), (2, false, OptimizerKind.Adam, 1), (2, true, OptimizerKind.Sgd, 1), (1, true, OptimizerKind.Adam, 2) })
        {
            var config = new TrainingConfig
            {
                Workers = workers, Rounds = 4, BatchSizePerWorker = 16, AveragingFrequency = 3, WindowLength = 32, Stride = 2,
                HiddenSize = 16, LatentSize = 4, Seed = 11, AverageUpdaters = avgUpd, Optimizer = opt, ThreadsPerWorker = threads,
                LearningRate = opt == OptimizerKind.Sgd ? 0.002 : 1e-3, CheckpointEvery = 0,
            };
            var shards = ShardPlanner.Split(normalised.Series, workers, config.WindowLength, config.Stride, config.Repartition);
            using var cluster = new LocalCluster(shards);
            var master = new ParameterAveragingMaster(config, config.ModelFor(shards[0].Channels), cluster, shards.Select(s => (long)s.WindowCount).ToArray());
            var state = master.Run().State;
            ulong p = Hashing.Checksum(System.Runtime.InteropServices.MemoryMarshal.AsBytes(state.Parameters.AsSpan()));
            ulong m = Hashing.Checksum(System.Runtime.InteropServices.MemoryMarshal.AsBytes(state.Updater.FirstMoment.AsSpan()));
            ulong v = Hashing.Checksum(System.Runtime.InteropServices.MemoryMarshal.AsBytes(state.Updater.SecondMoment.AsSpan()));
            output.WriteLine($"golden N={workers} averageUpdaters={avgUpd} {opt} threads={threads}: params {p:x16} m {m:x16} v {v:x16}");
            if (workers == 1 && threads == 1)
            {
                // scoring with the trained parameters: every score and contribution, both rules
                var model = new SparkAnomaly.Scoring.TrainedModel(config.ModelFor(shards[0].Channels), Normaliser.Fit(data), state.Parameters,
                    new SparkAnomaly.Scoring.ThresholdInfo("percentile:99", 1.0, 0), new SparkAnomaly.Scoring.TrainingProvenance
                    {
                        LibraryVersion = "golden", DataSource = "golden", DataFingerprint = "", Seed = 11, Rounds = 4, Workers = 1,
                        TrainingWindows = 0, FinalLoss = 0, CreatedUtc = "", ConfigJson = "{}",
                    });
                foreach (var batch in new[] { 256, 7 })
                {
                    var scored = SparkAnomaly.Scoring.Scorer.Score(model, data, out _, batchSize: batch);
                    ulong sc = 0;
                    foreach (var s in scored)
                    {
                        sc ^= Hashing.Checksum(System.Runtime.InteropServices.MemoryMarshal.AsBytes(s.Score.AsSpan()))
                            ^ Hashing.Checksum(System.Runtime.InteropServices.MemoryMarshal.AsBytes(s.Contributions.AsSpan())) * 31;
                    }
                    output.WriteLine($"golden scores batch {batch}: {sc:x16}");
                }
            }
        }
    }
}
