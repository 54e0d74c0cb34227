using SparkAnomaly.Data;

namespace SparkAnomaly.Scoring;

/// <summary>What a Parquet file written by SparkAnomaly holds.</summary>
public enum OutputFileKind
{
    /// <summary>A Parquet file that is neither a model nor a scores file.</summary>
    Unknown,

    /// <summary><c>model.parquet</c>: carries the <c>sparkanomaly.model</c> metadata key.</summary>
    Model,

    /// <summary><c>scores.parquet</c>: has <c>series_id</c> and <c>score</c> columns.</summary>
    Scores,
}

/// <summary>Recognises SparkAnomaly's output files from their Parquet footer alone (no data pages are read).</summary>
public static class OutputFiles
{
    /// <summary>Footer key-value metadata key that every model.parquet carries (see <see cref="ModelFile"/>).</summary>
    internal const string ModelMarker = "sparkanomaly.model";

    /// <summary>Footer key-value metadata key that every scores.parquet carries (see <see cref="ScoresFile"/>) and a model does not.</summary>
    internal const string ScoresMarker = "sparkanomaly.model_id";

    /// <summary>
    /// The kind of <paramref name="path"/>: <see cref="OutputFileKind.Model"/> when its key-value metadata has
    /// <c>sparkanomaly.model</c>, <see cref="OutputFileKind.Scores"/> when it has <c>series_id</c> and <c>score</c>
    /// columns, otherwise <see cref="OutputFileKind.Unknown"/>. Throws <see cref="SparkAnomalyException"/> when the
    /// file is missing or is not Parquet.
    /// </summary>
    public static OutputFileKind Detect(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            throw new SparkAnomalyException($"'{path}' is a directory; pass a model.parquet or scores.parquet file inside it.");
        }
        if (!File.Exists(path))
        {
            throw new SparkAnomalyException($"file '{path}' does not exist. Pass a model.parquet or scores.parquet written by sparkanomaly.");
        }
        return UntrustedParquet.Read(
            async () =>
            {
                await using var fs = File.OpenRead(path);
                await using var reader = await UntrustedParquet.OpenAsync(fs).ConfigureAwait(false);
                if (reader.CustomMetadata is { } meta && meta.ContainsKey(ModelMarker))
                {
                    return OutputFileKind.Model;
                }
                var names = reader.Schema.DataFields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
                return names.Contains("series_id") && names.Contains("score") ? OutputFileKind.Scores : OutputFileKind.Unknown;
            },
            reason => $"'{path}' is not a readable Parquet file ({reason}). Pass a model.parquet or scores.parquet written by sparkanomaly.");
    }
}
