using SparkAnomaly.Model;
using SparkAnomaly.Scoring;
using SparkAnomaly.Training;
using SparkAnomaly.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SparkAnomaly.Tests.Model;

public sealed class LstmVaeTests
{
    [Fact]
    public void Forward_Backward_ShapesAndGradients()
    {
        TorchRuntime.EnsureLoaded();
        var config = new ModelConfig(Channels: 5, WindowLength: 12, HiddenSize: 7, LatentSize: 3);
        using var model = new LstmVae(config);
        using var scope = NewDisposeScope();
        using var g = new Generator(17);
        var x = randn(new long[] { 4, 12, 5 }, generator: g);
        var eps = randn(new long[] { 4, 3 }, generator: g);

        var (xhat, mu, logVar) = model.call(x, eps);
        var (loss, recon, kl) = LstmVae.Elbo(xhat, x, mu, logVar, 0.5);
        loss.backward();

        Assert.Equal(new long[] { 4, 12, 5 }, xhat.shape);
        Assert.Equal(new long[] { 4, 3 }, mu.shape);
        Assert.Equal(new long[] { 4, 3 }, logVar.shape);
        Assert.Equal(0, loss.dim());
        Assert.Equal(recon.item<float>() + 0.5f * kl.item<float>(), loss.item<float>(), 3);
        Assert.All(model.parameters(), p => Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0));
    }

    [Fact]
    public void ParameterShapes_MatchTheModulesParametersInOrder()
    {
        var config = new ModelConfig(8);
        using var replica = new Replica(config);
        var expected = ModelFile.ParameterShapes(config);
        Assert.Equal(expected.Select(e => e.Name), replica.Shapes.Select(s => s.Name));
        Assert.Equal(expected.Select(e => string.Join("x", e.Shape)), replica.Shapes.Select(s => string.Join("x", s.Shape)));
        Assert.Equal(42_536, replica.ParameterCount);   // the reference workload's count (WORKLOAD.md)
    }

    [Fact]
    public void Training_OnSyntheticData_LossFalls()
    {
        var config = TrainingFixtures.Tiny(rounds: 30) with { LearningRate = 1e-2, KlAnnealEpochs = 0 };
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);

        var outcome = TrainingFixtures.RunMaster(config, shards);

        double first = outcome.Rounds.Take(2).Average(r => r.Loss), last = outcome.Rounds.TakeLast(2).Average(r => r.Loss);
        Assert.True(last < 0.85 * first, $"loss went from {first:F2} to {last:F2}");
    }

    [Fact]
    public void TrainStep_NoTensorLeaksAcrossSteps()
    {
        var config = TrainingFixtures.Tiny(rounds: 1);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        TrainingFixtures.RunMaster(config, shards);   // warm the replica pool

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var request = WorkerPayload.Encode(new WorkerRequest
        {
            ConfigHash = 1, Round = 0, Worker = 0, Workers = 1, Seed = 1, BatchCursor = 0, BatchSize = 8, Steps = 6,
            DropPartialBatch = false, KlWeight = 1, Optimizer = OptimizerKind.Adam, LearningRate = 1e-3, GradientClip = 1,
            Model = config.ModelFor(shards[0].Channels), Threads = 0, Device = "cpu", ShardKey = "s",
            Parameters = Replica.InitialParameters(config.ModelFor(shards[0].Channels), 1), Updater = UpdaterState.Empty,
        });
        TrainingWorker.Run(request, shards[0]);
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.True(after - before <= 0, $"{after - before} tensors left alive by one worker round");
    }
}
