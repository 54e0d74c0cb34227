using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Training;

public sealed class MasterTests
{
    [Fact]
    public void SameSeed_TwoRuns_BitIdenticalParametersAndCheckpoints()
    {
        var config = TrainingFixtures.Tiny();
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        using var dir = new TempDir();

        var a = TrainingFixtures.RunMaster(config, shards, new MasterOptions { CheckpointPath = dir.File("a.ckpt") });
        var b = TrainingFixtures.RunMaster(config, shards, new MasterOptions { CheckpointPath = dir.File("b.ckpt") });

        Assert.Equal(a.State.Parameters, b.State.Parameters);
        Assert.Equal(File.ReadAllBytes(dir.File("a.ckpt")), File.ReadAllBytes(dir.File("b.ckpt")));
        var other = TrainingFixtures.RunMaster(config with { Seed = config.Seed + 1 }, shards);
        Assert.NotEqual(a.State.Parameters, other.State.Parameters);
    }

    [Fact]
    public void OperationalSettings_PrefetchAndThreads_DoNotChangeTheModel()
    {
        var config = TrainingFixtures.Tiny(rounds: 3);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);

        var none = TrainingFixtures.RunMaster(config with { PrefetchBatches = 0 }, shards);
        var ahead = TrainingFixtures.RunMaster(config with { PrefetchBatches = 3 }, shards);

        Assert.Equal(none.State.Parameters, ahead.State.Parameters);
    }

    [Fact]
    public void Resume_AfterStopMidRun_EqualsUninterruptedRun()
    {
        var config = TrainingFixtures.Tiny(rounds: 5);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        using var dir = new TempDir();
        var full = TrainingFixtures.RunMaster(config, shards);

        string ckpt = dir.File("checkpoint.bin");
        Assert.Throws<OperationCanceledException>(() => TrainingFixtures.RunMaster(config, shards, new MasterOptions
        {
            CheckpointPath = ckpt,
            OnCheckpoint = round => { if (round == 2) throw new OperationCanceledException("stop after round 2"); },
        }));
        var resumed = TrainingFixtures.RunMaster(config, shards, new MasterOptions { CheckpointPath = ckpt, Resume = true });

        Assert.Equal(2, resumed.ResumedFromRound);
        Assert.Equal(3, resumed.Rounds.Count);
        Assert.Equal(full.State.Parameters, resumed.State.Parameters);
        Assert.Equal(full.State.Updater.FirstMoment, resumed.State.Updater.FirstMoment);
    }

    [Fact]
    public void Resume_WithChangedConfig_RefusedNamingTheField()
    {
        var config = TrainingFixtures.Tiny(rounds: 2);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        using var dir = new TempDir();
        TrainingFixtures.RunMaster(config, shards, new MasterOptions { CheckpointPath = dir.File("c.bin") });

        var e = Assert.Throws<SparkAnomalyException>(() => TrainingFixtures.RunMaster(config with { LearningRate = 0.01 }, shards,
            new MasterOptions { CheckpointPath = dir.File("c.bin"), Resume = true }));

        Assert.Contains("learningRate", e.Message);
        Assert.Contains("--resume", e.Message);
    }

    [Fact]
    public void Resume_OnOtherData_RefusedNamingTheFingerprints()
    {
        using var dir = new TempDir();
        var options = new TrainRunOptions { CheckpointPath = dir.File("c.bin") };
        var config = TrainingFixtures.Tiny(rounds: 2);
        Detector.Train(TrainingFixtures.SmallData(seed: 3), config, options);

        var e = Assert.Throws<SparkAnomalyException>(() => Detector.Train(TrainingFixtures.SmallData(seed: 4), config with { Rounds = 2 }, options with { Resume = true }));

        Assert.Contains("other data", e.Message);
        Assert.Contains("--data", e.Message);
        var again = Detector.Train(TrainingFixtures.SmallData(seed: 3), config, options with { Resume = true });
        Assert.Equal(2, again.Outcome.ResumedFromRound);
    }

    [Fact]
    public void InjectedFaults_RetriedOrIgnored_FinalModelIdenticalToFaultFreeRun()
    {
        var config = TrainingFixtures.Tiny(rounds: 4);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        var clean = TrainingFixtures.RunMaster(config, shards);
        var faults = new[]
        {
            new Fault(1, 0, FaultKind.Throw),
            new Fault(0, 1, FaultKind.NaN),
            new Fault(1, 2, FaultKind.WrongShape, Times: 2),
            new Fault(0, 3, FaultKind.Duplicate),
        };

        var faulty = TrainingFixtures.RunMaster(config, shards, faults: faults);

        Assert.Equal(clean.State.Parameters, faulty.State.Parameters);
        Assert.Equal(4, faulty.Rounds.Sum(r => r.Retries));
        Assert.Equal(1, faulty.Rounds.Sum(r => r.DuplicatesIgnored));
    }

    [Fact]
    public void RetriesExhausted_ClearErrorAndLastCheckpointIntact()
    {
        var config = TrainingFixtures.Tiny(rounds: 4) with { MaxTaskRetries = 2 };
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        using var dir = new TempDir();
        string ckpt = dir.File("checkpoint.bin");

        var e = Assert.Throws<SparkAnomalyException>(() => TrainingFixtures.RunMaster(config, shards,
            new MasterOptions { CheckpointPath = ckpt }, new[] { new Fault(0, 2, FaultKind.Throw, Times: 10) }));

        Assert.Contains("worker 0 failed round 2 3 times", e.Message);
        Assert.Contains("--resume", e.Message);
        var model = config.ModelFor(shards[0].Channels);
        var master = new ParameterAveragingMaster(config, model, new LocalCluster(shards), new long[] { 1, 1 });
        var state = Checkpoint.Read(ckpt, config, model, master.ConfigHash);
        Assert.Equal(2, state.CompletedRounds);
        Assert.DoesNotContain(Directory.GetFiles(dir.Path), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Dl4jMode_UnweightedMeanAndDroppedPartialBatch_DiffersFromWeighted()
    {
        var config = TrainingFixtures.Tiny(rounds: 3) with { Repartition = RepartitionPolicy.Never };
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(healthy: 3), config);

        var weighted = TrainingFixtures.RunMaster(config, shards);
        var dl4j = TrainingFixtures.RunMaster(config with { Averaging = AveragingMode.Dl4j }, shards);

        Assert.NotEqual(weighted.State.Parameters, dl4j.State.Parameters);
        Assert.Equal(0, dl4j.Rounds.Sum(r => r.Windows) % config.BatchSizePerWorker);
    }

    [Fact]
    public void Stats_EveryRoundHasPhaseTimingsLossAndWorkerThroughput()
    {
        var config = TrainingFixtures.Tiny(rounds: 3);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);

        var outcome = TrainingFixtures.RunMaster(config, shards);

        Assert.Equal(3, outcome.Rounds.Count);
        Assert.All(outcome.Rounds, r =>
        {
            Assert.True(double.IsFinite(r.Loss) && r.Loss > 0);
            Assert.True(r.FitMs > 0 && r.BroadcastMs >= 0 && r.CollectMs >= 0 && r.AverageMs >= 0);
            Assert.Equal(2, r.WorkerWindowsPerSecond.Length);
            Assert.All(r.WorkerWindowsPerSecond, v => Assert.True(v > 0));
            Assert.Equal(2 * config.BatchSizePerWorker * config.AveragingFrequency, r.Windows);
        });
    }
}
