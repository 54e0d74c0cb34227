using System.Text.Json;
using System.Text.Json.Serialization;
using SparkAnomaly.Data;
using SparkAnomaly.Model;
using SparkAnomaly.Training;

namespace SparkAnomaly.Scoring;

/// <summary>
/// The decision threshold stored with a model: its rule and value, fitted on training-period scores
/// computed with <see cref="ScoreRule"/> (scoring must use the same rule for the threshold to mean anything).
/// </summary>
/// <param name="Method">The rule, e.g. <c>percentile:99.9</c>.</param>
/// <param name="Value">The global threshold (used for series without their own).</param>
/// <param name="FittedOnSteps">How many training-period scores it was fitted on.</param>
/// <param name="ScoreRule">The score rule the threshold belongs to.</param>
/// <param name="PerSeries">Per-series thresholds (<c>thresholdScope: per-series</c>), fitted on each series' own training rows.</param>
/// <param name="ChannelVariance">
/// The reconstruction-probability rules only (<see cref="Scorer.IsReconstructionProbability"/>): the decoder's residual variance per channel in normalised
/// units, fitted on the same training rows as the threshold (<see cref="Scorer.ResidualVariance"/>). Null means unit variance,
/// which is what models written before this field used, so they score as they always did; it is then left out of
/// the metadata JSON, so such a model's file and <see cref="TrainedModel.ModelId"/> are what they were before the field.
/// </param>
public sealed record ThresholdInfo(string Method, double Value, long FittedOnSteps, string ScoreRule = nameof(Scoring.ScoreRule.CoveringMean),
    Dictionary<string, double>? PerSeries = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double[]? ChannelVariance = null)
{
    /// <summary>The threshold that applies to <paramref name="seriesId"/>: its own where fitted, else the global one.</summary>
    public double For(string seriesId) => PerSeries is not null && PerSeries.TryGetValue(seriesId, out double t) ? t : Value;
}

/// <summary>Where a model came from: enough to tell two models apart and to reproduce one.</summary>
public sealed record TrainingProvenance
{
    public required string LibraryVersion { get; init; }
    public required string DataSource { get; init; }
    public required string DataFingerprint { get; init; }
    public required long Seed { get; init; }
    public required int Rounds { get; init; }
    public required int Workers { get; init; }
    public required long TrainingWindows { get; init; }
    public required double FinalLoss { get; init; }
    public required string CreatedUtc { get; init; }
    public required string ConfigJson { get; init; }
}

/// <summary>
/// A trained detector: LSTM-VAE parameters, the normaliser and threshold it must be used with, and its
/// provenance. Saved as <c>model.parquet</c> (<see cref="ModelFile"/>), or as bytes for a broadcast.
/// </summary>
public sealed class TrainedModel
{
    public TrainedModel(ModelConfig model, Normaliser normaliser, float[] parameters, ThresholdInfo threshold, TrainingProvenance provenance)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(normaliser);
        ArgumentNullException.ThrowIfNull(parameters);
        Model = model;
        Normaliser = normaliser;
        Parameters = parameters;
        Threshold = threshold;
        Provenance = provenance;
    }

    public ModelConfig Model { get; }

    public Normaliser Normaliser { get; }

    public float[] Parameters { get; }

    public ThresholdInfo Threshold { get; }

    public TrainingProvenance Provenance { get; }

    /// <summary>Identifies this exact model (checksum of parameters and settings) in score rows.</summary>
    public string ModelId => $"{Hashing.Checksum(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Parameters.AsSpan())) ^ Hashing.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(MetadataJson())):x16}";

    public TrainedModel WithThreshold(ThresholdInfo threshold) => new(Model, Normaliser, Parameters, threshold, Provenance);

    internal string MetadataJson() => JsonSerializer.Serialize(new { Model, Normaliser, Threshold, Provenance }, ModelFile.MetadataJson);

    /// <summary>Compact binary form for broadcasting to workers: metadata JSON + parameters, checksummed.</summary>
    public byte[] ToBytes()
    {
        var w = new WorkerPayload.PayloadWriter(1024 + 4 * Parameters.Length);
        w.Bytes("SAMB"u8);
        w.U16(1);
        w.Str(JsonSerializer.Serialize(Model, ModelFile.MetadataJson));
        w.Str(JsonSerializer.Serialize(Normaliser, ModelFile.MetadataJson));
        w.Str(JsonSerializer.Serialize(Threshold, ModelFile.MetadataJson));
        w.Str(JsonSerializer.Serialize(Provenance, ModelFile.MetadataJson));
        w.Floats(Parameters);
        return w.Finish();
    }

    public static TrainedModel FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var r = new WorkerPayload.PayloadReader(bytes, "model bytes");
        r.Expect("SAMB"u8, 1);
        var model = ModelFile.Deserialize<ModelConfig>(r.Str(), "model bytes", "model");
        var normaliser = ModelFile.Deserialize<Normaliser>(r.Str(), "model bytes", "normaliser");
        var threshold = ModelFile.Deserialize<ThresholdInfo>(r.Str(), "model bytes", "threshold");
        var provenance = ModelFile.Deserialize<TrainingProvenance>(r.Str(), "model bytes", "provenance");
        var parameters = r.Floats();
        return ModelFile.Checked(new TrainedModel(model, normaliser, parameters, threshold, provenance), "model bytes");
    }
}
