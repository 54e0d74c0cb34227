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
    /// file is missing or is not Parquet. A directory is <see cref="OutputFileKind.Scores"/> when its first
    /// <c>*.parquet</c> (the rules of <see cref="ScoresReader.Read"/>) has a <c>score</c> column and a <c>series_id</c>
    /// column or folder, as a Spark score job writes it; any other directory is refused.
    /// </summary>
    public static OutputFileKind Detect(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            return DetectDirectory(path);
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

    private static OutputFileKind DetectDirectory(string dir)
    {
        const string Pass = "Pass a model.parquet or scores.parquet file, or the scores.parquet directory a Spark score job wrote.";
        var files = PartitionedDirectory.Files(dir, name => name.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase));
        if (files.Count == 0)
        {
            throw new SparkAnomalyException($"'{dir}' is a directory with no *.parquet file (names starting with _ or . are ignored). {Pass}");
        }
        var (first, partitions) = files[0];
        bool scores = UntrustedParquet.Read(
            async () =>
            {
                await using var fs = File.OpenRead(first);
                await using var reader = await UntrustedParquet.OpenAsync(fs).ConfigureAwait(false);
                var names = reader.Schema.DataFields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
                return names.Contains("score") && (names.Contains("series_id") || partitions.Any(p => p.Key == "series_id"));
            },
            reason => $"'{first}' in directory '{dir}' is not a readable Parquet file ({reason}). {Pass}");
        return scores ? OutputFileKind.Scores
            : throw new SparkAnomalyException($"'{dir}' is a directory but not a scores output: its first Parquet file '{first}' has no score and series_id columns. {Pass}");
    }
}
