namespace SparkAnomaly.Data;

/// <summary>
/// The files of a Spark/Hive-style output directory, as both the data reader and the scores reader see it:
/// everything below it except names starting with <c>_</c> or <c>.</c> (<c>_SUCCESS</c>, <c>_temporary/</c>,
/// <c>.crc</c>), and for each file the <c>key=value</c> folders above it (URL-decoded, since Spark and Hive
/// escape <c>%XX</c> in partition paths; <c>__HIVE_DEFAULT_PARTITION__</c>, Spark's null, is the empty string).
/// </summary>
internal static class PartitionedDirectory
{
    /// <summary>The files below <paramref name="dir"/> that <paramref name="accept"/> takes by name, in ordinal path order.</summary>
    /// <exception cref="SparkAnomalyException">A folder cannot be listed.</exception>
    public static List<(string Path, IReadOnlyList<KeyValuePair<string, string>> Partitions)> Files(string dir, Func<string, bool> accept)
    {
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentNullException.ThrowIfNull(accept);
        var files = new List<(string Path, IReadOnlyList<KeyValuePair<string, string>> Partitions)>();
        Collect(dir, new List<KeyValuePair<string, string>>(), accept, files);
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }

    private static void Collect(
        string dir, List<KeyValuePair<string, string>> partitions, Func<string, bool> accept, List<(string, IReadOnlyList<KeyValuePair<string, string>>)> files)
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(dir).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SparkAnomalyException($"Directory '{dir}' could not be listed: {e.Message}. Check its permissions.", e);
        }
        foreach (var entry in entries)
        {
            string name = Path.GetFileName(entry);
            if (name.StartsWith('_') || name.StartsWith('.'))
            {
                continue;
            }
            if (Directory.Exists(entry))
            {
                var sub = partitions;
                int eq = name.IndexOf('=');
                if (eq > 0)
                {
                    string key = Uri.UnescapeDataString(name[..eq]);
                    string value = Uri.UnescapeDataString(name[(eq + 1)..]);
                    if (value == "__HIVE_DEFAULT_PARTITION__")
                    {
                        value = "";
                    }
                    sub = new List<KeyValuePair<string, string>>(partitions) { new(key, value) };
                }
                Collect(entry, sub, accept, files);
            }
            else if (accept(name))
            {
                files.Add((entry, partitions));
            }
        }
    }
}
