using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using SparkAnomaly.Data;
using SparkAnomaly.Model;
using SparkAnomaly.Training;

namespace SparkAnomaly.Scoring;

/// <summary>
/// <c>model.parquet</c>: one row per parameter value — columns <c>tensor</c> (string), <c>shape</c>
/// (string, e.g. "256x8"), <c>index</c> (int32, row-major position in the tensor), <c>value</c> (float) —
/// so Spark, DuckDB and pandas read it with no code of ours. Key-value metadata holds the model shape,
/// normaliser, threshold, provenance, a checksum of the values and a checksum of that metadata, under <c>sparkanomaly.*</c>.
/// Loading treats the file as untrusted: it parses JSON into fixed records only, checks every declared
/// size against sane limits and against the model shape before allocating, and verifies both checksums.
/// </summary>
public static class ModelFile
{
    /// <summary>The format of every model file without a fitted residual variance (unchanged since the first release).</summary>
    public const string FormatVersion = "1";

    /// <summary>
    /// The format of a model with <see cref="ThresholdInfo.ChannelVariance"/>: builds before that field would ignore it
    /// and score with unit variance against a threshold fitted with σ² (wrong alarms, no error), so they must refuse the file.
    /// </summary>
    public const string FormatVersionWithChannelVariance = "2";

    /// <summary>The format version <see cref="Save"/> writes for <paramref name="model"/>: the oldest that can hold it.</summary>
    public static string FormatVersionOf(TrainedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Threshold.ChannelVariance is null ? FormatVersion : FormatVersionWithChannelVariance;
    }
    private const string Prefix = "sparkanomaly.";

    /// <summary>
    /// The metadata entries <see cref="MetadataChecksum"/> covers, in the order it hashes them: everything that changes
    /// how a model scores or what <c>inspect</c> shows. <c>checksum</c> is left out because it is already compared with
    /// the values themselves, so a damaged one is refused anyway, and a refusal can then say which half was damaged.
    /// The list is part of the file format: changing it makes files from other builds fail their metadata checksum.
    /// </summary>
    internal static readonly string[] MetadataChecksumKeys = ["format_version", "model", "normaliser", "threshold", "provenance"];

    private const string MetadataChecksumKey = "metadata_checksum";

    /// <summary>Largest model accepted (values), far above any LSTM-VAE this library builds by default.</summary>
    public const long MaxParameters = 64L * 1024 * 1024;

    /// <summary>
    /// Metadata JSON options: a run resumed from a final checkpoint of format version 2 (which kept no loss) trains no
    /// round and has no final loss (NaN), which plain JSON cannot hold, so NaN and ±Infinity are written and read as named literals.
    /// </summary>
    internal static readonly JsonSerializerOptions MetadataJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static readonly DataField<string> s_tensor = new("tensor");
    private static readonly DataField<string> s_shape = new("shape");
    private static readonly DataField<int> s_index = new("index");
    private static readonly DataField<float> s_value = new("value");

    public static void Save(TrainedModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        PausePoint.Reached("model-write", model.Provenance.Rounds);
        AtomicFile.Write(path, stream => Write(model, stream));
    }

    /// <summary>
    /// The bytes of the model file <see cref="Save"/> writes, for a store the library cannot open as a path (a Spark
    /// job's HDFS/S3 output): the same Parquet file, so every reader of model.parquet reads it.
    /// </summary>
    public static byte[] ToParquetBytes(TrainedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var stream = new MemoryStream();
        Write(model, stream);
        return stream.ToArray();
    }

    /// <summary>A model from the bytes of a model file (<see cref="ToParquetBytes"/>); <paramref name="name"/> names them in messages.</summary>
    public static TrainedModel FromParquetBytes(byte[] bytes, string name)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.AsSpan().StartsWith("SAMB"u8))
        {
            // Spark train jobs before 2026-12-04 stored the workers' broadcast form under the name model.parquet;
            // it carries the same model, checksummed, so such a model still scores.
            return TrainedModel.FromBytes(bytes);
        }
        return LoadUntrusted(name, () => new MemoryStream(bytes, writable: false), out _);
    }

    private static void Write(TrainedModel model, Stream stream)
    {
        var shapes = ParameterShapes(model.Model);
        int n = model.Parameters.Length;
        var tensors = new string[n];
        var shapeText = new string[n];
        var index = new int[n];
        int offset = 0;
        foreach (var (name, shape) in shapes)
        {
            string s = string.Join("x", shape);
            long size = shape.Aggregate(1L, (a, b) => a * b);
            for (int i = 0; i < size; i++, offset++)
            {
                tensors[offset] = name;
                shapeText[offset] = s;
                index[offset] = i;
            }
        }
        var metadata = new Dictionary<string, string>
        {
            [Prefix + "format_version"] = FormatVersionOf(model),
            [Prefix + "model"] = JsonSerializer.Serialize(model.Model, MetadataJson),
            [Prefix + "normaliser"] = JsonSerializer.Serialize(model.Normaliser, MetadataJson),
            [Prefix + "threshold"] = JsonSerializer.Serialize(model.Threshold, MetadataJson),
            [Prefix + "provenance"] = JsonSerializer.Serialize(model.Provenance, MetadataJson),
            [Prefix + "checksum"] = Checksum(model.Parameters),
        };
        // No format version bump: builds before this key ignore unknown keys, so they still read these files as they were.
        metadata[Prefix + MetadataChecksumKey] = MetadataChecksum(metadata);
        WriteAsync(stream, metadata, tensors, shapeText, index, model.Parameters).GetAwaiter().GetResult();
    }

    private static async Task WriteAsync(Stream stream, Dictionary<string, string> metadata, string[] tensors, string[] shapes, int[] index, float[] values)
    {
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(s_tensor, s_shape, s_index, s_value), stream);
        writer.CustomMetadata = metadata;
        using var rg = writer.CreateRowGroup();
        await rg.WriteAsync(s_tensor, tensors);
        await rg.WriteAsync(s_shape, shapes);
        await rg.WriteAsync<int>(s_index, index);
        await rg.WriteAsync<float>(s_value, values);
    }

    public static TrainedModel Load(string path) => Load(path, out _);

    /// <summary>
    /// Loads the model at <paramref name="path"/>; <paramref name="metadataVerified"/> tells whether its metadata was
    /// covered by a metadata checksum (false only for files written before that checksum existed, which load unverified).
    /// </summary>
    public static TrainedModel Load(string path, out bool metadataVerified)
    {
        if (Directory.Exists(path))
        {
            throw new SparkAnomalyException($"model '{path}' is a directory; pass the model.parquet file inside it.");
        }
        if (!File.Exists(path))
        {
            throw new SparkAnomalyException($"model file '{path}' does not exist. Pass the model.parquet written by 'sparkanomaly train'.");
        }
        return LoadUntrusted(path, () => File.OpenRead(path), out metadataVerified);
    }

    private static TrainedModel LoadUntrusted(string path, Func<Stream> open, out bool metadataVerified)
    {
        try
        {
            // Untrusted bytes: any parser failure means a bad file, not a bug.
            (var model, metadataVerified) = UntrustedParquet.Read(
                () => LoadAsync(path, open),
                reason => $"model file '{path}' is not a readable Parquet model ({reason}). Pass a model.parquet written by 'sparkanomaly train'.");
            return model;
        }
        catch (OutOfMemoryException e)
        {
            // A crafted size that slipped past the checks above (e.g. a page header): refuse rather than crash.
            // A model is small, so unlike data, running out of memory on one is the file's fault.
            throw new SparkAnomalyException($"model file '{path}' declares sizes that cannot be allocated ({e.Message.ReplaceLineEndings(" ")}): the file is damaged or was crafted. Retrain or restore it.", e);
        }
    }

    private static async Task<(TrainedModel Model, bool MetadataVerified)> LoadAsync(string path, Func<Stream> open)
    {
        await using var fs = open();
        await using var reader = await UntrustedParquet.OpenAsync(fs);
        var meta = reader.CustomMetadata ?? new Dictionary<string, string>();
        string Need(string key) => meta.TryGetValue(Prefix + key, out var v) ? v
            : throw new SparkAnomalyException($"model file '{path}' has no '{Prefix}{key}' metadata: it was not written by SparkAnomaly. Pass a model.parquet written by 'sparkanomaly train'.");
        string version = Need("format_version");
        if (version != FormatVersion && version != FormatVersionWithChannelVariance)
        {
            throw new SparkAnomalyException($"model file '{path}' has format version {version}; this build reads versions {FormatVersion} and {FormatVersionWithChannelVariance}. Use the SparkAnomaly version that wrote it, or retrain.");
        }
        foreach (string key in MetadataChecksumKeys)
        {
            Need(key);
        }
        // Checked before any JSON is parsed, so a flipped bit is reported as damage, not as whatever the parser makes of it.
        // Files from builds before this checksum have no key and load as they always did (metadataVerified = false).
        bool metadataVerified = meta.TryGetValue(Prefix + MetadataChecksumKey, out var storedMetadataChecksum);
        if (metadataVerified && MetadataChecksum(meta) != storedMetadataChecksum)
        {
            throw new SparkAnomalyException($"model file '{path}' fails its metadata checksum: its model, normaliser, threshold, provenance or format version metadata was corrupted or edited. Retrain or restore the file.");
        }
        var model = Deserialize<ModelConfig>(Need("model"), path, "model");
        try
        {
            model.Validate();
        }
        catch (SparkAnomalyException e)
        {
            throw new SparkAnomalyException($"model file '{path}': {e.Message} The file is damaged or was edited; retrain or restore it.", e);
        }
        var normaliser = Deserialize<Normaliser>(Need("normaliser"), path, "normaliser");
        var threshold = Deserialize<ThresholdInfo>(Need("threshold"), path, "threshold");
        var provenance = Deserialize<TrainingProvenance>(Need("provenance"), path, "provenance");
        string checksum = Need("checksum");

        long expected = ParameterShapes(model).Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b));
        long rows = Enumerable.Range(0, reader.RowGroupCount).Sum(i => reader.OpenRowGroupReader(i).RowCount);
        if (expected > MaxParameters)
        {
            throw new SparkAnomalyException($"model file '{path}' declares a model of {expected} parameter values, above the limit of {MaxParameters}: refusing to allocate. The file is damaged or was crafted; retrain or restore it.");
        }
        if (rows != expected)
        {
            throw new SparkAnomalyException($"model file '{path}' holds {rows} parameter values but its model shape needs {expected}: the file is damaged or was edited. Retrain or restore it.");
        }
        var values = new float[expected];
        int offset = 0;
        var valueField = reader.Schema.DataFields.FirstOrDefault(f => f.Name == s_value.Name)
            ?? throw new SparkAnomalyException($"model file '{path}' has no 'value' column. Pass a model.parquet written by 'sparkanomaly train'.");
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int count = checked((int)rg.RowCount);
            await rg.ReadAsync<float>(valueField, values.AsMemory(offset, count));
            offset += count;
        }
        if (Checksum(values) != checksum)
        {
            throw new SparkAnomalyException($"model file '{path}' fails its checksum: its parameter values were corrupted or changed. Retrain or restore the file.");
        }
        if (version == FormatVersion && threshold.ChannelVariance is not null)
        {
            // Version 2 exists so that readers which ignore the variance refuse it; a version-1 file holding one was edited.
            throw new SparkAnomalyException($"model file '{path}' declares format version {FormatVersion} but holds a channel variance, which only version {FormatVersionWithChannelVariance} files carry: the file was edited. Retrain or restore it.");
        }
        return (Checked(new TrainedModel(model, normaliser, values, threshold, provenance), path), metadataVerified);
    }

    /// <summary>Cross-checks the parts of a model against each other.</summary>
    internal static TrainedModel Checked(TrainedModel m, string source)
    {
        m.Model.Validate();
        var n = m.Normaliser;
        if (n.Channels is null || n.Offset is null || n.Scale is null || n.Channels.Length != m.Model.Channels || n.Offset.Length != m.Model.Channels || n.Scale.Length != m.Model.Channels
            || n.Offset.Any(v => !float.IsFinite(v)) || n.Scale.Any(v => !float.IsFinite(v) || v <= 0))
        {
            throw new SparkAnomalyException($"{source}: the normaliser does not fit a model of {m.Model.Channels} channels or holds invalid values. Retrain the model.");
        }
        long expected = ParameterShapes(m.Model).Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b));
        if (m.Parameters.Length != expected || m.Parameters.Any(v => !float.IsFinite(v)))
        {
            throw new SparkAnomalyException($"{source}: {m.Parameters.Length} parameter values for a model needing {expected}, or non-finite values. Retrain the model.");
        }
        if (m.Threshold is null || !double.IsFinite(m.Threshold.Value) || (m.Threshold.PerSeries?.Values.Any(v => !double.IsFinite(v)) ?? false))
        {
            throw new SparkAnomalyException($"{source}: the threshold is missing or not finite. Retrain the model.");
        }
        // Names only: Enum.TryParse would also take "1" or "LastStep, CoveringMean", and scoring would then fail late.
        if (!Enum.GetNames<ScoreRule>().Contains(m.Threshold.ScoreRule, StringComparer.OrdinalIgnoreCase))
        {
            throw new SparkAnomalyException($"{source}: the threshold's score rule '{m.Threshold.ScoreRule}' is not one of {string.Join(", ", Enum.GetNames<ScoreRule>())}. The file is damaged or was edited; retrain or restore it.");
        }
        if (m.Threshold.ChannelVariance is { } variance && (variance.Length != m.Model.Channels || variance.Any(v => !double.IsFinite(v) || v <= 0)))
        {
            throw new SparkAnomalyException($"{source}: the threshold's channel variance has {variance.Length} values for a model of {m.Model.Channels} channels, or a value that is not a positive finite number. Retrain the model.");
        }
        return m;
    }

    internal static T Deserialize<T>(string json, string source, string what)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, MetadataJson) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new SparkAnomalyException($"{source}: its {what} metadata is not valid ({e.Message.Split(" Path:")[0]}). Retrain or restore the model file.", e);
        }
    }

    /// <summary>Names and shapes of the LSTM-VAE's parameters, in flattening order, computed without building the model.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> ParameterShapes(ModelConfig m)
    {
        long h4 = 4L * m.HiddenSize;
        return new (string, long[])[]
        {
            ("enc.weight_ih_l0", new[] { h4, m.Channels }), ("enc.weight_hh_l0", new[] { h4, m.HiddenSize }),
            ("enc.bias_ih_l0", new[] { h4 }), ("enc.bias_hh_l0", new[] { h4 }),
            ("mu.weight", new long[] { m.LatentSize, m.HiddenSize }), ("mu.bias", new long[] { m.LatentSize }),
            ("logvar.weight", new long[] { m.LatentSize, m.HiddenSize }), ("logvar.bias", new long[] { m.LatentSize }),
            ("dec.weight_ih_l0", new[] { h4, m.LatentSize }), ("dec.weight_hh_l0", new[] { h4, m.HiddenSize }),
            ("dec.bias_ih_l0", new[] { h4 }), ("dec.bias_hh_l0", new[] { h4 }),
            ("out.weight", new long[] { m.Channels, m.HiddenSize }), ("out.bias", new long[] { m.Channels }),
        };
    }

    /// <summary>
    /// The checksum of the <see cref="MetadataChecksumKeys"/> entries of <paramref name="metadata"/> (full <c>sparkanomaly.*</c> keys),
    /// over their stored strings exactly: each key and value as UTF-8, each preceded by its byte length (int32, little-endian),
    /// so that text moved from one entry to another, or two values swapped, changes it. <see cref="Hashing.Checksum(ReadOnlySpan{byte})"/>
    /// like the values' checksum: it detects corruption, any change within one aligned 8-byte word of what it hashes for certain
    /// (so every single-bit flip that leaves the text valid UTF-8; one that does not is read back as U+FFFD, which changes the
    /// length, and is missed with probability 2⁻⁶⁴); it is not a signature, and anyone who edits the file on purpose can recompute it.
    /// </summary>
    internal static string MetadataChecksum(IReadOnlyDictionary<string, string> metadata)
    {
        using var bytes = new MemoryStream();
        Span<byte> length = stackalloc byte[4];
        foreach (string key in MetadataChecksumKeys)
        {
            foreach (string text in new[] { Prefix + key, metadata[Prefix + key] })
            {
                byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(text);
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
                bytes.Write(length);
                bytes.Write(utf8);
            }
        }
        return Hashing.Checksum(bytes.GetBuffer().AsSpan(0, checked((int)bytes.Length))).ToString("x16", CultureInfo.InvariantCulture);
    }

    private static string Checksum(float[] values) =>
        Hashing.Checksum(MemoryMarshal.AsBytes(values.AsSpan())).ToString("x16", CultureInfo.InvariantCulture);
}
