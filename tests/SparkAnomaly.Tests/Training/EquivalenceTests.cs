using SparkAnomaly.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SparkAnomaly.Tests.Training;

/// <summary>
/// The averaging is proven, not assumed (DL4J's TestCompareParameterAveragingSparkVsSingleMachine,
/// made exact): one worker equals plain training, and N SGD workers equal one large-batch step.
/// </summary>
public sealed class EquivalenceTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OneWorker_ThroughAveragingPath_EqualsPlainSingleReplicaLoop(bool averageUpdaters)
    {
        var config = TrainingFixtures.Tiny(workers: 1, rounds: 4) with { AverageUpdaters = averageUpdaters };
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        var model = config.ModelFor(shards[0].Channels);

        var outcome = TrainingFixtures.RunMaster(config, shards);

        // Plain loop: one replica, the same minibatches and noise in the same order, no bytes, no averaging.
        using var cluster = new LocalCluster(shards);
        var master = new ParameterAveragingMaster(config, model, cluster, new long[] { shards[0].WindowCount });
        using var replica = new Replica(model);
        replica.SetParameters(Replica.InitialParameters(model, config.Seed));
        var schedule = new BatchSchedule(shards[0].WindowCount, config.BatchSizePerWorker, false, config.Seed, 0);
        var optimizer = new OptimizerSettings(config.Optimizer, config.LearningRate);
        for (long cursor = 0; cursor < config.Rounds * config.AveragingFrequency; cursor++)
        {
            if (!averageUpdaters && cursor % config.AveragingFrequency == 0)
            {
                replica.ResetUpdater();   // without updater averaging each round starts from fresh moments
            }
            using var scope = NewDisposeScope();
            var batch = schedule.Batch(cursor).ToArray();
            var x = Batch(shards[0], batch);
            using var g = new Generator(TrainingWorker.NoiseSeed(config.Seed, 0, cursor));
            var eps = randn(new long[] { batch.Length, model.LatentSize }, generator: g);
            replica.TrainStep(x, eps, master.KlWeightAt((int)(cursor / config.AveragingFrequency)), optimizer);
        }

        Assert.Equal(replica.GetParameters(), outcome.State.Parameters);
    }

    [Fact]
    public void SgdWorkers_AveragingEveryStepWithEqualBatches_EqualOneLargeBatchStep()
    {
        var config = TrainingFixtures.Tiny(workers: 3, rounds: 3) with
        {
            Optimizer = OptimizerKind.Sgd,
            LearningRate = 0.05,
            AveragingFrequency = 1,
            KlAnnealEpochs = 0,
            Repartition = RepartitionPolicy.Always,
        };
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        Assert.All(shards, s => Assert.True(s.WindowCount >= config.BatchSizePerWorker * config.Rounds));
        var model = config.ModelFor(shards[0].Channels);

        var outcome = TrainingFixtures.RunMaster(config, shards);

        // One replica, one step per round on the union of the workers' minibatches (and their noise).
        using var replica = new Replica(model);
        replica.SetParameters(Replica.InitialParameters(model, config.Seed));
        var schedules = shards.Select((s, w) => new BatchSchedule(s.WindowCount, config.BatchSizePerWorker, false, config.Seed, w)).ToArray();
        for (int round = 0; round < config.Rounds; round++)
        {
            using var scope = NewDisposeScope();
            var xs = new List<Tensor>();
            var noise = new List<Tensor>();
            for (int w = 0; w < shards.Length; w++)
            {
                var batch = schedules[w].Batch(round).ToArray();
                xs.Add(Batch(shards[w], batch));
                using var g = new Generator(TrainingWorker.NoiseSeed(config.Seed, w, round));
                noise.Add(randn(new long[] { batch.Length, model.LatentSize }, generator: g));
            }
            replica.TrainStep(cat(xs, 0), cat(noise, 0), config.KlWeight, new OptimizerSettings(OptimizerKind.Sgd, config.LearningRate));
        }

        var expected = replica.GetParameters();
        var actual = outcome.State.Parameters;
        Assert.Equal(expected.Length, actual.Length);
        double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a) / Math.Max(1e-3, Math.Abs(e))).Max();
        Assert.True(worst < 1e-4, $"largest relative difference {worst:E2}");
        // And the step really moved the parameters, so the comparison is not vacuous.
        var initial = Replica.InitialParameters(model, config.Seed);
        Assert.True(initial.Zip(actual, (i, a) => Math.Abs(i - a)).Max() > 1e-3);
    }

    [Fact]
    public void OwnAdam_MatchesTorchSharpAdam()
    {
        var config = TrainingFixtures.Tiny(workers: 1);
        var model = config.ModelFor(3);
        var initial = Replica.InitialParameters(model, 5);
        using var ours = new Replica(model);
        ours.SetParameters(initial);
        using var theirs = new Replica(model);
        theirs.SetParameters(initial);
        using var adam = optim.Adam(theirs.Model.parameters(), lr: 1e-2);
        using var g = new Generator(9);
        for (int step = 0; step < 5; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(new long[] { 8, model.WindowLength, model.Channels }, generator: g);
            var eps = randn(new long[] { 8, model.LatentSize }, generator: g);
            ours.TrainStep(x, eps, 1.0, new OptimizerSettings(OptimizerKind.Adam, 1e-2));
            adam.zero_grad();
            var (xhat, mu, lv) = theirs.Model.call(x, eps);
            SparkAnomaly.Model.LstmVae.Elbo(xhat, x, mu, lv, 1.0).Loss.backward();
            adam.step();
        }
        var a = ours.GetParameters();
        var b = theirs.GetParameters();
        double worst = a.Zip(b, (p, q) => Math.Abs(p - q)).Max();
        Assert.True(worst < 1e-5, $"largest absolute difference {worst:E2}");
    }

    internal static Tensor Batch(ShardData shard, int[] windows)
    {
        int t = shard.WindowLength, f = shard.Channels;
        var buffer = new float[windows.Length * t * f];
        for (int i = 0; i < windows.Length; i++)
        {
            shard.Window(windows[i]).CopyTo(buffer.AsSpan(i * t * f));
        }
        return tensor(buffer, new long[] { windows.Length, t, f });
    }
}
