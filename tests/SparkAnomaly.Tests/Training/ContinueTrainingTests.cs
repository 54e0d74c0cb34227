using SparkAnomaly.Training;

namespace SparkAnomaly.Tests.Training;

/// <summary>
/// A finished or interrupted run continued for more rounds (DL4J: calling fit again) is the run that was asked for
/// that many rounds from the start, bit for bit: nothing in a round depends on how many rounds follow it.
/// </summary>
public sealed class ContinueTrainingTests
{
    private static void AssertSameState(TrainingOutcome expected, TrainingOutcome actual)
    {
        Assert.Equal(expected.State.CompletedRounds, actual.State.CompletedRounds);
        Assert.Equal(expected.State.Parameters, actual.State.Parameters);
        Assert.Equal(expected.State.Updater.Step, actual.State.Updater.Step);
        Assert.Equal(expected.State.Updater.FirstMoment, actual.State.Updater.FirstMoment);
        Assert.Equal(expected.State.Updater.SecondMoment, actual.State.Updater.SecondMoment);
        Assert.Equal(expected.State.Cursors, actual.State.Cursors);
        Assert.Equal(expected.State.LastRoundLoss, actual.State.LastRoundLoss);
    }

    /// <summary>
    /// First run (finished, or stopped after <paramref name="stopAfter"/> rounds), then resumed with a different length;
    /// compared with a straight run of that length: parameters, Adam state, cursors, the losses of the rounds both ran,
    /// and the final checkpoint file byte for byte.
    /// </summary>
    [Theory]
    [InlineData(3, 0, 6)]   // finished at 3, continued to 6
    [InlineData(6, 2, 4)]   // planned 6, stopped after 2, resumed to 4 (shorter than planned, longer than done)
    public void Resume_WithOtherRounds_BitIdenticalToStraightRunOfThatLength(int firstRounds, int stopAfter, int resumeRounds)
    {
        var config = TrainingFixtures.Tiny(rounds: firstRounds);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        using var dir = new TempDir();
        string straightCkpt = dir.File("straight.bin"), ckpt = dir.File("checkpoint.bin");
        var straight = TrainingFixtures.RunMaster(config with { Rounds = resumeRounds }, shards, new MasterOptions { CheckpointPath = straightCkpt });

        if (stopAfter == 0)
        {
            TrainingFixtures.RunMaster(config, shards, new MasterOptions { CheckpointPath = ckpt });
        }
        else
        {
            Assert.Throws<OperationCanceledException>(() => TrainingFixtures.RunMaster(config, shards, new MasterOptions
            {
                CheckpointPath = ckpt,
                OnCheckpoint = round => { if (round == stopAfter) throw new OperationCanceledException($"stop after round {stopAfter}"); },
            }));
        }
        var resumed = TrainingFixtures.RunMaster(config with { Rounds = resumeRounds }, shards, new MasterOptions { CheckpointPath = ckpt, Resume = true });

        int done = stopAfter == 0 ? firstRounds : stopAfter;
        Assert.Equal(done, resumed.ResumedFromRound);
        Assert.Equal(resumeRounds, resumed.TotalRounds);
        Assert.Equal(resumeRounds - done, resumed.Rounds.Count);
        AssertSameState(straight, resumed);
        Assert.Equal(straight.Rounds.Skip(done).Select(r => (r.Round, r.Loss, r.KlWeight, r.Windows)), resumed.Rounds.Select(r => (r.Round, r.Loss, r.KlWeight, r.Windows)));
        Assert.Equal(File.ReadAllBytes(straightCkpt), File.ReadAllBytes(ckpt));
    }

    /// <summary>
    /// With epochs, the rounds are ceil(epochs / epochs per round) on the same shards: more epochs on resume are more
    /// rounds, and the KL warm-up (over klAnnealEpochs, by round) and the per-epoch batch order are those of the straight run.
    /// </summary>
    [Fact]
    public void Resume_WithMoreEpochs_BitIdenticalToStraightRunOfThoseEpochs()
    {
        var config = TrainingFixtures.Tiny() with { Epochs = 0.5, KlAnnealEpochs = 1.0 };
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        using var dir = new TempDir();
        string ckpt = dir.File("checkpoint.bin");
        var first = TrainingFixtures.RunMaster(config, shards, new MasterOptions { CheckpointPath = ckpt });
        var straight = TrainingFixtures.RunMaster(config with { Epochs = 1.5 }, shards);

        var resumed = TrainingFixtures.RunMaster(config with { Epochs = 1.5 }, shards, new MasterOptions { CheckpointPath = ckpt, Resume = true });

        Assert.True(straight.TotalRounds > first.TotalRounds + 1, $"{first.TotalRounds} then {straight.TotalRounds} rounds");
        Assert.Equal(first.TotalRounds, resumed.ResumedFromRound);
        Assert.Equal(straight.TotalRounds, resumed.TotalRounds);
        // The run crosses both the end of the β warm-up and a worker's first epoch boundary (a new batch order).
        Assert.Contains(straight.Rounds, r => r.KlWeight < config.KlWeight && r.Round >= first.TotalRounds);
        Assert.Contains(straight.Rounds, r => r.KlWeight == config.KlWeight);
        int BatchesPerEpoch(int w) => new BatchSchedule(shards[w].WindowCount, config.BatchSizePerWorker, false, config.Seed, w).BatchesPerEpoch;
        Assert.Contains(Enumerable.Range(0, shards.Length), w => first.State.Cursors[w] < BatchesPerEpoch(w) && straight.State.Cursors[w] > BatchesPerEpoch(w));
        AssertSameState(straight, resumed);
    }

    [Fact]
    public void Resume_WithFewerRoundsThanTheCheckpointHolds_RefusedNamingTheMinimum()
    {
        var config = TrainingFixtures.Tiny(rounds: 4);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        using var dir = new TempDir();
        string ckpt = dir.File("checkpoint.bin");
        TrainingFixtures.RunMaster(config, shards, new MasterOptions { CheckpointPath = ckpt });
        byte[] before = File.ReadAllBytes(ckpt);

        var fewer = Assert.Throws<SparkAnomalyException>(() => TrainingFixtures.RunMaster(config with { Rounds = 2 }, shards, new MasterOptions { CheckpointPath = ckpt, Resume = true }));
        var fewerEpochs = Assert.Throws<SparkAnomalyException>(() => TrainingFixtures.RunMaster(config with { Epochs = 0.1 }, shards, new MasterOptions { CheckpointPath = ckpt, Resume = true }));

        Assert.Contains("already holds 4 rounds, and rounds is 2", fewer.Message);
        Assert.Contains("--rounds 4 or more", fewer.Message);
        Assert.Contains("without --resume", fewer.Message);
        Assert.Contains("already holds 4 rounds, and epochs 0.1 means 1 round on this data", fewerEpochs.Message);
        Assert.Matches(@"--epochs [0-9.]+ or more \(or --rounds 4 or more\)", fewerEpochs.Message);
        Assert.Equal(before, File.ReadAllBytes(ckpt));
    }

    [Fact]
    public void Resume_EpochsNamedInTheRefusal_AreEnoughToResume()
    {
        var config = TrainingFixtures.Tiny(rounds: 4);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        using var dir = new TempDir();
        string ckpt = dir.File("checkpoint.bin");
        TrainingFixtures.RunMaster(config, shards, new MasterOptions { CheckpointPath = ckpt });
        var e = Assert.Throws<SparkAnomalyException>(() => TrainingFixtures.RunMaster(config with { Epochs = 0.1 }, shards, new MasterOptions { CheckpointPath = ckpt, Resume = true }));
        double named = double.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @"--epochs ([0-9.]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        var resumed = TrainingFixtures.RunMaster(config with { Epochs = named }, shards, new MasterOptions { CheckpointPath = ckpt, Resume = true });

        Assert.Equal(4, resumed.ResumedFromRound);
        Assert.True(resumed.TotalRounds >= 4);
    }

    [Fact]
    public void Resume_WithOtherMath_StillRefused_AndTheMessageSaysWhatMayChange()
    {
        var config = TrainingFixtures.Tiny(rounds: 2);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        using var dir = new TempDir();
        string ckpt = dir.File("checkpoint.bin");
        TrainingFixtures.RunMaster(config, shards, new MasterOptions { CheckpointPath = ckpt });

        // More rounds together with another learning rate: the rounds are allowed, the learning rate is not.
        var e = Assert.Throws<SparkAnomalyException>(() => TrainingFixtures.RunMaster(config with { Rounds = 5, LearningRate = 0.01 }, shards,
            new MasterOptions { CheckpointPath = ckpt, Resume = true }));
        var model = Assert.Throws<SparkAnomalyException>(() => TrainingFixtures.RunMaster(config with { Rounds = 5, HiddenSize = 6 }, shards,
            new MasterOptions { CheckpointPath = ckpt, Resume = true }));

        Assert.Contains("learningRate: 0.001 -> 0.01", e.Message);
        Assert.DoesNotContain("rounds:", e.Message);
        Assert.Contains("may change only the length of training (rounds or epochs", e.Message);
        Assert.Contains("hiddenSize", model.Message);
    }

    [Fact]
    public void Checkpoint_KeepsTheLastRoundsLoss_SoAResumeWithNothingLeftRecordsTheFinalLoss()
    {
        using var dir = new TempDir();
        var options = new TrainRunOptions { CheckpointPath = dir.File("checkpoint.bin") };
        var config = TrainingFixtures.Tiny(rounds: 2);
        var data = TrainingFixtures.SmallData();
        var first = Detector.Train(data, config, options);

        var again = Detector.Train(data, config, options with { Resume = true });

        Assert.Empty(again.Outcome.Rounds);
        Assert.True(double.IsFinite(first.Model.Provenance.FinalLoss));
        Assert.Equal(first.Model.Provenance.FinalLoss, again.Model.Provenance.FinalLoss);
        Assert.Equal(first.Model.Parameters, again.Model.Parameters);
    }

    /// <summary>
    /// A version 2 checkpoint (written before the loss was kept) still resumes, continues bit-identically, and its
    /// unknown loss is NaN. Version 3 is version 2 followed by one float64, so the version 2 file is that layout.
    /// </summary>
    [Fact]
    public void Version2Checkpoint_StillResumes_WithUnknownLoss()
    {
        var config = TrainingFixtures.Tiny(rounds: 2);
        var (shards, _) = TrainingFixtures.Shards(TrainingFixtures.SmallData(), config);
        using var dir = new TempDir();
        string ckpt = dir.File("checkpoint.bin");
        TrainingFixtures.RunMaster(config, shards, new MasterOptions { CheckpointPath = ckpt });
        var straight = TrainingFixtures.RunMaster(config with { Rounds = 3 }, shards);
        byte[] v3 = File.ReadAllBytes(ckpt);
        Assert.Equal(3, BitConverter.ToUInt16(v3, 4));
        byte[] v2 = v3[..^16];   // without the loss and the checksum
        v2[4] = 2;
        byte[] file = [.. v2, .. BitConverter.GetBytes(Hashing.Checksum(v2))];
        File.WriteAllBytes(ckpt, file);

        var model = config.ModelFor(shards[0].Channels);
        ulong hash;
        using (var cluster = new LocalCluster(shards))
        {
            hash = new ParameterAveragingMaster(config, model, cluster, shards.Select(s => (long)s.WindowCount).ToArray()).ConfigHash;
        }
        var state = Checkpoint.Read(ckpt, config, model, hash);
        Assert.Equal(2, state.CompletedRounds);
        Assert.True(double.IsNaN(state.LastRoundLoss));
        Assert.Equal(config.Rounds, Checkpoint.ReadConfig(ckpt).Rounds);

        var resumed = TrainingFixtures.RunMaster(config with { Rounds = 3 }, shards, new MasterOptions { CheckpointPath = ckpt, Resume = true });

        Assert.Equal(2, resumed.ResumedFromRound);
        AssertSameState(straight, resumed);
    }
}
