using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using SparkAnomaly.Data;
using SparkAnomaly.Model;

namespace SparkAnomaly.Training;

/// <summary>How worker results are combined into the next global parameters.</summary>
public enum AveragingMode
{
    /// <summary>
    /// Default. Each worker weighs by the windows it trained on this round, the last partial
    /// minibatch of an epoch is trained rather than dropped, and the reduction runs in worker order
    /// in double precision, so results are bit-reproducible.
    /// </summary>
    Weighted,

    /// <summary>
    /// DL4J ParameterAveragingTrainingMaster: unweighted mean over workers that trained at least one
    /// window; a partial last minibatch is dropped.
    /// </summary>
    Dl4j,
}

/// <summary>The optimiser each replica runs between averaging rounds.</summary>
public enum OptimizerKind
{
    Adam,
    Sgd,
}

/// <summary>When the driver re-balances shards between workers.</summary>
public enum RepartitionPolicy
{
    Always,
    Never,
    WhenUnbalanced,
}

/// <summary>
/// Everything that shapes a training run. Loaded from JSON (<c>conf/train.json</c> documents each
/// field), overridable from the command line. Immutable; <see cref="Validate"/> refuses nonsense
/// with a message naming the field.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>Replicas trained in parallel; the local cluster runs them as threads.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Windows per minibatch on each worker (DL4J batchSizePerWorker).</summary>
    public int BatchSizePerWorker { get; init; } = 64;

    /// <summary>Minibatches each worker fits between two averagings (DL4J averagingFrequency).</summary>
    public int AveragingFrequency { get; init; } = 5;

    /// <summary>Averaging rounds. Ignored when <see cref="Epochs"/> is set.</summary>
    public int Rounds { get; init; } = 40;

    /// <summary>When set, the number of rounds is derived so that each window is seen about this many times.</summary>
    public double? Epochs { get; init; }

    /// <summary>Average the Adam moments with the parameters (DL4J saveUpdater). Off: moments restart each round.</summary>
    public bool AverageUpdaters { get; init; } = true;

    public AveragingMode Averaging { get; init; } = AveragingMode.Weighted;

    public RepartitionPolicy Repartition { get; init; } = RepartitionPolicy.WhenUnbalanced;

    /// <summary>Minibatches assembled ahead of the one being trained (0 = assemble on demand).</summary>
    public int PrefetchBatches { get; init; } = 1;

    public long Seed { get; init; } = 42;

    /// <summary>auto | cpu | cuda | cuda:N.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Intra-op threads for each replica (torch.set_num_threads on its thread).</summary>
    public int ThreadsPerWorker { get; init; } = 1;

    /// <summary>Retries of a failed worker task, with the same inputs, before the run stops.</summary>
    public int MaxTaskRetries { get; init; } = 3;

    /// <summary>Write an atomic checkpoint every this many rounds (0 = only at the end).</summary>
    public int CheckpointEvery { get; init; } = 10;

    public int WindowLength { get; init; } = 64;

    /// <summary>Step between the starts of consecutive training windows.</summary>
    public int Stride { get; init; } = 1;

    public int HiddenSize { get; init; } = 64;

    public int LatentSize { get; init; } = 16;

    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Largest KL weight β, reached after <see cref="KlAnnealEpochs"/>.</summary>
    public double KlWeight { get; init; } = 1.0;

    /// <summary>β rises linearly from 0 to <see cref="KlWeight"/> over these first epochs (0 = constant β).</summary>
    public double KlAnnealEpochs { get; init; } = 1.0;

    /// <summary>Clip the global gradient norm to this value (0 = no clipping).</summary>
    public double GradientClip { get; init; }

    public NormalisationKind Normalisation { get; init; } = NormalisationKind.ZScore;

    /// <summary>Threshold rule fitted on training-period scores: percentile:P, meanstd:K or pot:Q.</summary>
    public string Threshold { get; init; } = "percentile:99.9";

    /// <summary>
    /// Last N training rows of every series held out of training; the threshold is fitted on their scores, which
    /// are out of sample. 0 (default): the threshold is fitted on the in-sample scores of all training rows, which
    /// understate the error of new normal data (docs/skab.md measured it), so a rule there flags more than its
    /// nominal rate.
    /// </summary>
    public int CalibrationRows { get; init; }

    /// <summary>global: one threshold for every series; per-series: each series its own, fitted on its training rows.</summary>
    public Scoring.ThresholdScope ThresholdScope { get; init; } = Scoring.ThresholdScope.Global;

    /// <summary>
    /// How windows are scored and mapped to steps: covering-mean (default), last-step (causal), reconstruction-probability
    /// (An &amp; Cho's likelihood, covering-mean) or reconstruction-probability-last-step (the same, causal).
    /// </summary>
    public Scoring.ScoreRule ScoreRule { get; init; } = Scoring.ScoreRule.CoveringMean;

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public ModelConfig ModelFor(int channels) => new(channels, WindowLength, HiddenSize, LatentSize);

    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    public static TrainingConfig FromJson(string json, string source)
    {
        try
        {
            RefuseDuplicateKeys(json, source);
            return JsonSerializer.Deserialize<TrainingConfig>(json, s_json)
                ?? throw new SparkAnomalyException($"config '{source}' is empty. Write a JSON object, as in conf/train.json.");
        }
        catch (JsonException e)
        {
            string where = e.LineNumber is long line ? $" at line {line + 1}" : "";
            // The field matters most on a one-line config; "$.rounds" reads as "rounds".
            string field = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? $", field '{path[2..]}'" : "";
            throw new SparkAnomalyException($"config '{source}' is not valid{where}{field}: {e.Message.Split(" Path:")[0].TrimEnd('.')}. Compare with conf/train.json.", e);
        }
    }

    /// <summary>System.Text.Json (on net8.0) lets the last of two equal keys win; a config that sets a field twice is a mistake either way.</summary>
    private static void RefuseDuplicateKeys(string json, string source)
    {
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            return;   // the deserializer names that error
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                throw new SparkAnomalyException($"config '{source}' sets '{property.Name}' twice. Keep one of them.");
            }
        }
    }

    public static TrainingConfig Load(string path)
    {
        if (Directory.Exists(path))
        {
            throw new SparkAnomalyException($"config file '{path}' is a directory. Pass a JSON file to --config, e.g. conf/train.json.");
        }
        if (!File.Exists(path))
        {
            throw new SparkAnomalyException($"config file '{path}' does not exist. Pass an existing file to --config, e.g. conf/train.json.");
        }
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SparkAnomalyException($"config file '{path}' cannot be read: {e.Message.TrimEnd('.')}. Check the file and its permissions.", e);
        }
        return FromJson(json, path);
    }

    /// <summary>Most rounds a run may ask for, directly or through <see cref="Epochs"/>; more is a typo, not a plan.</summary>
    public const int MaxRounds = 10_000_000;

    /// <summary>Most epochs a run may ask for.</summary>
    public const double MaxEpochs = 1_000_000;

    /// <summary>Refuses values that cannot work, naming the field.</summary>
    public TrainingConfig Validate()
    {
        Positive(Workers, "workers", 1024);
        Positive(BatchSizePerWorker, "batchSizePerWorker", 1 << 20);
        Positive(AveragingFrequency, "averagingFrequency", 1 << 20);
        if (Epochs is null)
        {
            Positive(Rounds, "rounds", MaxRounds);
        }
        else if (!(Epochs > 0) || !(Epochs <= MaxEpochs))
        {
            throw new SparkAnomalyException($"epochs is {Epochs}; it must be a positive number up to {MaxEpochs:N0}.");
        }
        NonNegative(PrefetchBatches, "prefetchBatches");
        Positive(ThreadsPerWorker, "threadsPerWorker", 1024);
        NonNegative(MaxTaskRetries, "maxTaskRetries");
        NonNegative(CheckpointEvery, "checkpointEvery");
        NonNegative(CalibrationRows, "calibrationRows");
        Positive(Stride, "stride", 1 << 20);
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
        {
            throw new SparkAnomalyException($"learningRate is {LearningRate}; it must be a positive number such as 1e-3.");
        }
        NonNegative(KlWeight, "klWeight");
        NonNegative(KlAnnealEpochs, "klAnnealEpochs");
        NonNegative(GradientClip, "gradientClip");
        DeviceRequest.Parse(Device);
        ModelFor(1).Validate();
        return this;
    }

    /// <summary>
    /// Hash of the fields that decide the trained model. Operational fields (device, threads,
    /// prefetch, retries, checkpoint interval) are left out: changing them must not change the result.
    /// </summary>
    public ulong ResultHash() => Hashing.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(ResultDefiningJson()));

    /// <summary>
    /// Result-defining fields a resume may change: the length of training. Nothing in a round depends on how many
    /// rounds follow it (β warm-up, batch order, noise seeds and the learning rate depend on the round and the data
    /// cursors only), so a run continued to more rounds is the run that was asked for that many from the start.
    /// </summary>
    public static IReadOnlyList<string> LengthFields { get; } = ["rounds", "epochs"];

    /// <summary>Field-by-field differences in the result-defining fields, for resume messages.</summary>
    /// <param name="other">The configuration this one is compared with (shown on the left of each "a -> b").</param>
    /// <param name="ignoreLength">Leave out <see cref="LengthFields"/>: the differences that forbid a resume.</param>
    public IReadOnlyList<string> DiffersFrom(TrainingConfig other, bool ignoreLength = false)
    {
        var diffs = new List<string>();
        foreach (var p in ResultDefiningProperties())
        {
            if (ignoreLength && LengthFields.Contains(JsonNamingPolicy.CamelCase.ConvertName(p.Name)))
            {
                continue;
            }
            var a = JsonSerializer.Serialize(p.GetValue(this), s_json);
            var b = JsonSerializer.Serialize(p.GetValue(other), s_json);
            if (a != b)
            {
                diffs.Add($"{JsonNamingPolicy.CamelCase.ConvertName(p.Name)}: {b} -> {a}");
            }
        }
        return diffs;
    }

    // Fields added after checkpoints were first written leave the hash when at their default, so a checkpoint
    // from before them still resumes under a config that does not use them.
    private string ResultDefiningJson() =>
        string.Join(";", ResultDefiningProperties()
            .Where(p => !(p.Name == nameof(CalibrationRows) && CalibrationRows == 0))
            .Select(p => p.Name + "=" + JsonSerializer.Serialize(p.GetValue(this), s_json)));

    private static IEnumerable<PropertyInfo> ResultDefiningProperties() =>
        typeof(TrainingConfig).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.Name is not (nameof(Device) or nameof(ThreadsPerWorker) or nameof(PrefetchBatches)
                or nameof(MaxTaskRetries) or nameof(CheckpointEvery) or nameof(Threshold) or nameof(ThresholdScope) or nameof(ScoreRule) or "EqualityContract"))
            .OrderBy(p => p.Name, StringComparer.Ordinal);

    private static void Positive(int value, string name, int max)
    {
        if (value < 1 || value > max)
        {
            throw new SparkAnomalyException($"{name} is {value}; it must be between 1 and {max}.");
        }
    }

    private static void NonNegative(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value))
        {
            throw new SparkAnomalyException($"{name} is {value}; it must be a finite number, 0 or more.");
        }
    }

    private static void NonNegative(int value, string name)
    {
        if (value < 0)
        {
            throw new SparkAnomalyException($"{name} is {value}; it must be 0 or more.");
        }
    }
}
