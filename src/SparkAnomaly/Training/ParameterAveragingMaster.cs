using System.Diagnostics;
using SparkAnomaly.Model;

namespace SparkAnomaly.Training;

/// <summary>Where training stands after a number of completed rounds: all a resume needs.</summary>
/// <param name="CompletedRounds">Rounds averaged so far.</param>
/// <param name="Parameters">The global parameters after them.</param>
/// <param name="Updater">The (averaged) Adam state after them; empty for SGD.</param>
/// <param name="Cursors">Per worker, the next minibatch of its shard (0-based over the whole run).</param>
/// <param name="LastRoundLoss">Mean loss of the last completed round (NaN before the first, or read from a version 2 checkpoint).</param>
public sealed record TrainingState(int CompletedRounds, float[] Parameters, UpdaterState Updater, long[] Cursors, double LastRoundLoss = double.NaN);

/// <summary>Statistics of one averaging round (DL4J's collectTrainingStats, per phase).</summary>
public sealed record RoundStats
{
    public required int Round { get; init; }
    public required double Loss { get; init; }
    public required double LastLoss { get; init; }
    public required double Reconstruction { get; init; }
    public required double Kl { get; init; }
    public required double KlWeight { get; init; }
    public required long Windows { get; init; }
    public required double BroadcastMs { get; init; }
    public required double FitMs { get; init; }
    public required double CollectMs { get; init; }
    public required double AverageMs { get; init; }
    public double CheckpointMs { get; init; }
    public required double[] WorkerWindowsPerSecond { get; init; }
    public required double[] WorkerFitMs { get; init; }
    public required int Retries { get; init; }
    public required int DuplicatesIgnored { get; init; }

    public double TotalMs => BroadcastMs + FitMs + CollectMs + AverageMs + CheckpointMs;

    /// <summary>Share of the round not spent fitting: broadcast + collect + average + checkpoint.</summary>
    public double OverheadShare => TotalMs > 0 ? (TotalMs - FitMs) / TotalMs : 0;
}

/// <summary>Options of a run that do not change its result.</summary>
public sealed record MasterOptions
{
    /// <summary>Checkpoint file (written atomically); null = no checkpoints.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Continue from <see cref="CheckpointPath"/> when it exists.</summary>
    public bool Resume { get; init; }

    /// <summary>Called after every round, on the driver thread.</summary>
    public Action<RoundStats>? OnRound { get; init; }

    /// <summary>Fingerprint of the training data, stored in checkpoints; a resume on other data is refused.</summary>
    public string DataFingerprint { get; init; } = "";

    /// <summary>Called after every checkpoint write (tests use it to stop a run at a known point).</summary>
    public Action<int>? OnCheckpoint { get; init; }

    /// <summary>Called once after the start state is settled (fresh or resumed) and before the first round or checkpoint write.</summary>
    public Action? BeforeFirstRound { get; init; }
}

/// <summary>The result of <see cref="ParameterAveragingMaster.Run"/>.</summary>
public sealed record TrainingOutcome(TrainingState State, IReadOnlyList<RoundStats> Rounds, int TotalRounds, int ResumedFromRound);

/// <summary>
/// The driver loop of parameter averaging, engine-agnostic: per round, broadcast the global
/// parameters and updater state, let every worker fit <c>averagingFrequency</c> minibatches of its
/// shard, collect, validate, average, checkpoint. Failed or invalid results (exception, non-finite
/// values, wrong shapes) are retried with the same request, never averaged in; a duplicate result for
/// the same worker and round is ignored.
/// </summary>
public sealed class ParameterAveragingMaster
{
    private readonly TrainingConfig _config;
    private readonly ModelConfig _model;
    private readonly ITrainingCluster _cluster;
    private readonly long[] _windowsPerWorker;
    private readonly MasterOptions _options;
    private readonly ulong _configHash;

    public ParameterAveragingMaster(TrainingConfig config, ModelConfig model, ITrainingCluster cluster, long[] windowsPerWorker, MasterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(windowsPerWorker);
        _config = config.Validate();
        _model = model;
        _cluster = cluster;
        _windowsPerWorker = windowsPerWorker;
        _options = options ?? new MasterOptions();
        _configHash = config.ResultHash() ^ Hashing.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(model.ToString()));
        if (windowsPerWorker.Length != cluster.Workers)
        {
            throw new ArgumentException($"{windowsPerWorker.Length} shard sizes for {cluster.Workers} workers");
        }
        TotalRounds = config.Epochs is double epochs ? RoundsFor(epochs) : config.Rounds;
    }

    public int TotalRounds { get; }

    private int RoundsFor(double epochs)
    {
        double rounds = Math.Ceiling(epochs / EpochsPerRound);
        if (!(rounds <= TrainingConfig.MaxRounds))
        {
            throw new SparkAnomalyException($"epochs {epochs} needs {rounds:G3} rounds of {EpochsPerRound:G3} epochs each, more than {TrainingConfig.MaxRounds:N0}. Lower epochs, or raise batchSizePerWorker or averagingFrequency.");
        }
        return Math.Max(1, (int)rounds);
    }

    public ulong ConfigHash => _configHash;

    /// <summary>Fraction of the data one round covers: windows trained per round over all windows.</summary>
    public double EpochsPerRound
    {
        get
        {
            long total = _windowsPerWorker.Sum();
            long perRound = _windowsPerWorker.Sum(n => Math.Min(n, (long)_config.BatchSizePerWorker * _config.AveragingFrequency));
            return total == 0 ? 1 : (double)perRound / total;
        }
    }

    /// <summary>β for a round: linear warm-up over the first <c>klAnnealEpochs</c>, then <c>klWeight</c>.</summary>
    public double KlWeightAt(int round)
    {
        if (_config.KlAnnealEpochs <= 0)
        {
            return _config.KlWeight;
        }
        double epochsDone = (round + 1) * EpochsPerRound;
        return _config.KlWeight * Math.Min(1.0, epochsDone / _config.KlAnnealEpochs);
    }

    public TrainingOutcome Run(CancellationToken cancellationToken = default)
    {
        var state = Start(out int resumedFrom);
        _options.BeforeFirstRound?.Invoke();
        var stats = new List<RoundStats>();
        for (int round = state.CompletedRounds; round < TotalRounds; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (next, roundStats) = RunRound(round, state, cancellationToken);
            state = next;
            bool due = _options.CheckpointPath is not null
                && ((_config.CheckpointEvery > 0 && (round + 1) % _config.CheckpointEvery == 0) || round + 1 == TotalRounds);
            if (due)
            {
                var clock = Stopwatch.StartNew();
                Checkpoint.Write(_options.CheckpointPath!, _config, _model, _configHash, state, _options.DataFingerprint);
                roundStats = roundStats with { CheckpointMs = clock.Elapsed.TotalMilliseconds };
                _options.OnCheckpoint?.Invoke(round + 1);
            }
            stats.Add(roundStats);
            _options.OnRound?.Invoke(roundStats);
        }
        return new TrainingOutcome(state, stats, TotalRounds, resumedFrom);
    }

    private TrainingState Start(out int resumedFrom)
    {
        resumedFrom = 0;
        if (_options.Resume && _options.CheckpointPath is string path && File.Exists(path))
        {
            var state = Checkpoint.Read(path, _config, _model, _configHash, _options.DataFingerprint);
            if (state.Cursors.Length != _cluster.Workers)
            {
                throw new SparkAnomalyException($"checkpoint '{path}' was written by {state.Cursors.Length} workers; this run has {_cluster.Workers}. Resume with --workers {state.Cursors.Length}.");
            }
            if (state.CompletedRounds > TotalRounds)
            {
                string asked = _config.Epochs is double epochs
                    ? $"epochs {epochs.ToString(System.Globalization.CultureInfo.InvariantCulture)} means {TotalRounds} {(TotalRounds == 1 ? "round" : "rounds")} on this data"
                    : $"rounds is {TotalRounds}";
                // Rounded up, so that the epochs named give at least the rounds already done.
                double minEpochs = Math.Ceiling(state.CompletedRounds * EpochsPerRound * 1000) / 1000;
                string instead = _config.Epochs is null
                    ? $"--rounds {state.CompletedRounds} or more"
                    : $"--epochs {minEpochs.ToString(System.Globalization.CultureInfo.InvariantCulture)} or more (or --rounds {state.CompletedRounds} or more)";
                throw new SparkAnomalyException($"checkpoint '{path}' already holds {state.CompletedRounds} rounds, and {asked}: a resume continues a run, it cannot take rounds back. "
                    + $"Resume with {instead}, or start afresh without --resume (with --overwrite).");
            }
            resumedFrom = state.CompletedRounds;
            return state;
        }
        var parameters = Replica.InitialParameters(_model, _config.Seed);
        var updater = _config.Optimizer == OptimizerKind.Adam ? UpdaterState.Zero(parameters.Length) : UpdaterState.Empty;
        return new TrainingState(0, parameters, updater, new long[_cluster.Workers]);
    }

    private (TrainingState, RoundStats) RunRound(int round, TrainingState state, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        double beta = KlWeightAt(round);
        var tasks = Enumerable.Range(0, _cluster.Workers).Select(w => new WorkerTask(w, WorkerPayload.Encode(new WorkerRequest
        {
            ConfigHash = _configHash,
            Round = round,
            Worker = w,
            Workers = _cluster.Workers,
            Seed = _config.Seed,
            BatchCursor = state.Cursors[w],
            BatchSize = _config.BatchSizePerWorker,
            Steps = _config.AveragingFrequency,
            DropPartialBatch = _config.Averaging == AveragingMode.Dl4j,
            KlWeight = beta,
            Optimizer = _config.Optimizer,
            LearningRate = _config.LearningRate,
            GradientClip = _config.GradientClip,
            Model = _model,
            Threads = _config.ThreadsPerWorker,
            Prefetch = _config.PrefetchBatches,
            Device = _config.Device,
            ShardKey = $"shard-{w}",
            Parameters = state.Parameters,
            Updater = state.Updater,
        }))).ToList();
        double broadcastMs = clock.Elapsed.TotalMilliseconds;

        var results = new WorkerResult?[_cluster.Workers];
        var errors = new string?[_cluster.Workers];
        int retries = 0, duplicates = 0;
        double fitMs = 0, collectMs = 0;
        var pending = tasks;
        for (int attempt = 0; pending.Count > 0; attempt++)
        {
            clock.Restart();
            var outcomes = _cluster.RunRound(round, pending, ct);
            fitMs += clock.Elapsed.TotalMilliseconds;
            clock.Restart();
            foreach (var o in outcomes)
            {
                if (results[o.Worker] is not null)
                {
                    duplicates++;
                    continue;
                }
                (results[o.Worker], errors[o.Worker]) = Validate(o, round, state.Parameters.Length);
            }
            collectMs += clock.Elapsed.TotalMilliseconds;
            pending = pending.Where(t => results[t.Worker] is null).ToList();
            if (pending.Count > 0)
            {
                if (attempt >= _config.MaxTaskRetries)
                {
                    var w = pending[0].Worker;
                    string where = _options.CheckpointPath is not null && File.Exists(_options.CheckpointPath)
                        ? $" The last checkpoint '{_options.CheckpointPath}' is intact: fix the cause and rerun with --resume."
                        : "";
                    throw new SparkAnomalyException(
                        $"worker {w} failed round {round} {attempt + 1} times (maxTaskRetries {_config.MaxTaskRetries}): {(errors[w] ?? "no result").TrimEnd('.')}.{where}");
                }
                retries += pending.Count;
            }
        }

        PausePoint.Reached("average", round);
        clock.Restart();
        var done = results.Select(r => r!).ToArray();
        var (parameters, updater) = Average(done, state);
        double averageMs = clock.Elapsed.TotalMilliseconds;
        long windows = done.Sum(r => r.WindowsSeen);
        var trained = done.Where(r => r.WindowsSeen > 0).ToArray();
        var stats = new RoundStats
        {
            Round = round,
            Loss = windows > 0 ? trained.Sum(r => r.MeanLoss * r.WindowsSeen) / windows : double.NaN,
            LastLoss = trained.Length > 0 ? trained.Average(r => r.LastLoss) : double.NaN,
            Reconstruction = windows > 0 ? trained.Sum(r => r.MeanReconstruction * r.WindowsSeen) / windows : double.NaN,
            Kl = windows > 0 ? trained.Sum(r => r.MeanKl * r.WindowsSeen) / windows : double.NaN,
            KlWeight = beta,
            Windows = windows,
            BroadcastMs = broadcastMs,
            FitMs = fitMs,
            CollectMs = collectMs,
            AverageMs = averageMs,
            WorkerWindowsPerSecond = done.Select(r => r.FitMs > 0 ? r.WindowsSeen / (r.FitMs / 1000) : 0).ToArray(),
            WorkerFitMs = done.Select(r => r.FitMs).ToArray(),
            Retries = retries,
            DuplicatesIgnored = duplicates,
        };
        var cursors = done.Select(r => r.BatchCursor).ToArray();
        return (new TrainingState(round + 1, parameters, updater, cursors, stats.Loss), stats);
    }

    private (WorkerResult?, string?) Validate(TaskOutcome outcome, int round, int parameterCount)
    {
        if (outcome.Result is null)
        {
            return (null, outcome.Error ?? "the task returned nothing");
        }
        WorkerResult r;
        try
        {
            r = WorkerPayload.DecodeResult(outcome.Result);
        }
        catch (SparkAnomalyException e)
        {
            return (null, e.Message);
        }
        int updaterLength = _config.Optimizer == OptimizerKind.Adam ? parameterCount : 0;
        string? problem =
            r.ConfigHash != _configHash ? "the result belongs to another configuration"
            : r.Round != round || r.Worker != outcome.Worker ? $"the result is for worker {r.Worker} round {r.Round}"
            : r.Parameters.Length != parameterCount ? $"it returned {r.Parameters.Length} parameters, the model has {parameterCount}"
            : r.Updater.FirstMoment.Length != updaterLength || r.Updater.SecondMoment.Length != updaterLength ? "its updater state has the wrong size"
            : !AllFinite(r.Parameters) || !AllFinite(r.Updater.FirstMoment) || !AllFinite(r.Updater.SecondMoment) ? "it returned non-finite parameters or updater state"
            : r.WindowsSeen > 0 && !double.IsFinite(r.MeanLoss) ? "its loss is not finite"
            : null;
        return problem is null ? (r, null) : (null, problem);
    }

    private static bool AllFinite(float[] values)
    {
        foreach (float v in values)
        {
            if (!float.IsFinite(v))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Weighted: by windows trained. Dl4j: unweighted over workers that trained. Either way the sum
    /// runs in worker order in double precision, so the result does not depend on arrival order.
    /// </summary>
    private (float[], UpdaterState) Average(WorkerResult[] results, TrainingState previous)
    {
        var trained = results.Where(r => r.WindowsSeen > 0).OrderBy(r => r.Worker).ToArray();
        if (trained.Length == 0)
        {
            return (previous.Parameters, previous.Updater);
        }
        long total = trained.Sum(r => r.WindowsSeen);
        var weights = trained.Select(r => _config.Averaging == AveragingMode.Weighted ? (double)r.WindowsSeen / total : 1.0 / trained.Length).ToArray();
        var parameters = WeightedSum(trained.Select(r => r.Parameters).ToArray(), weights);
        UpdaterState updater;
        if (_config.Optimizer != OptimizerKind.Adam)
        {
            updater = UpdaterState.Empty;
        }
        else if (_config.AverageUpdaters)
        {
            updater = new UpdaterState(
                trained.Max(r => r.Updater.Step),
                WeightedSum(trained.Select(r => r.Updater.FirstMoment).ToArray(), weights),
                WeightedSum(trained.Select(r => r.Updater.SecondMoment).ToArray(), weights));
        }
        else
        {
            // Without updater averaging every round starts from fresh moments, with the step count
            // reset too so Adam's bias correction matches the fresh moments (DL4J keeps counting).
            updater = UpdaterState.Zero(parameters.Length);
        }
        return (parameters, updater);
    }

    private static float[] WeightedSum(float[][] vectors, double[] weights)
    {
        int n = vectors[0].Length;
        var result = new float[n];
        for (int j = 0; j < n; j++)
        {
            double acc = 0;
            for (int i = 0; i < vectors.Length; i++)
            {
                acc += weights[i] * vectors[i][j];
            }
            result[j] = (float)acc;
        }
        return result;
    }
}
