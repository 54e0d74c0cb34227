using Parquet;
using Parquet.Schema;
using SparkAnomaly.Data;

namespace SparkAnomaly.Scoring;

/// <summary>The rows of one series read back from a <c>scores.parquet</c>, in file order.</summary>
/// <param name="Id">The series id.</param>
/// <param name="Timestamps">Per row: the int64 timestamp, or Unix microseconds (UTC) for a date-time column.</param>
/// <param name="Score">Per-row score.</param>
/// <param name="Threshold">Per-row threshold (constant for a global threshold, per series otherwise).</param>
/// <param name="IsAnomaly">Per-row alarm as written by the scorer.</param>
/// <param name="Labels">0/1 per row, <see cref="Series.NoLabel"/> where the label is null.</param>
/// <param name="Splits">Per-row split (<see cref="RowSplit.Unspecified"/> for empty or absent).</param>
/// <param name="Contributions">Row-major [rows × channels] channel contributions; empty when the file has none.</param>
public sealed record ScoresSeries(
    string Id, long[] Timestamps, double[] Score, double[] Threshold, bool[] IsAnomaly, sbyte[] Labels, RowSplit[] Splits, double[] Contributions)
{
    /// <summary>Number of rows.</summary>
    public int Length => Timestamps.Length;
}

/// <summary>A whole <c>scores.parquet</c>: the series in order of first appearance, and the channel names of its contribution columns.</summary>
public sealed record ScoresData(string Source, IReadOnlyList<ScoresSeries> Series, IReadOnlyList<string> Channels, bool DateTimeTimestamps, string? ThresholdMethod)
{
    /// <summary>The model that scored the rows (file metadata, else the <c>model_id</c> column), if known.</summary>
    public string? ModelId { get; init; }

    /// <summary>True when at least one row has a label.</summary>
    public bool HasLabels => Series.Any(s => s.Labels.Any(l => l != Data.Series.NoLabel));
}

/// <summary>
/// Reads a <c>scores.parquet</c> written by <see cref="ScoresFile"/> (or any file with the same required
/// columns: <c>series_id</c>, <c>timestamp</c>, <c>score</c>, <c>is_anomaly</c>; <c>threshold</c>, <c>label</c>,
/// <c>split</c> and <c>contrib_*</c> are optional), or the directory a Spark score job writes (see
/// <see cref="Read"/>). Treats every file as untrusted: every failure is a <see cref="SparkAnomalyException"/>
/// naming the file and what to do.
/// </summary>
public static class ScoresReader
{
    /// <summary>Prefix of the channel names given to the contributions of the old Spark array column.</summary>
    internal const string ArrayChannelPrefix = "channel_";

    /// <summary>
    /// Reads a scores file, whose rows of a series keep their file order (the scorer writes them sorted); or a
    /// Spark output directory: every <c>*.parquet</c> below it except names starting with <c>_</c> or <c>.</c>,
    /// a <c>series_id=</c> or <c>split=</c> folder supplying that column to files without it. A directory's series
    /// come in ordinal order of their ids, each sorted by timestamp (part files have no order); its files must
    /// agree on the <c>contrib_*</c> columns and the timestamp type, and a series must not repeat a timestamp.
    /// </summary>
    /// <exception cref="SparkAnomalyException">The path is missing, a file is not Parquet or lacks a required column, or a directory breaks a rule above.</exception>
    public static ScoresData Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Directory.Exists(path) ? ReadDirectory(path) : ReadUntrusted(path, ReadAsync);
    }

    /// <summary>
    /// Opens a scores file as untrusted input for any reader of it (this one, <see cref="ScoresSummary"/>):
    /// a missing file or any parser failure becomes one <see cref="SparkAnomalyException"/> naming the file.
    /// </summary>
    internal static T ReadUntrusted<T>(string path, Func<string, Task<T>> read)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new SparkAnomalyException($"scores file '{path}' does not exist. Pass a scores.parquet written by 'sparkanomaly score'.");
        }
        return UntrustedParquet.Read(
            () => read(path),
            reason => $"scores file '{path}' is not a readable scores Parquet file ({reason}). Pass a scores.parquet written by 'sparkanomaly score'.");
    }

    private static async Task<ScoresData> ReadAsync(string path)
    {
        var rows = await ReadRowsAsync(path, Array.Empty<KeyValuePair<string, string>>(), fromDirectory: false).ConfigureAwait(false);
        var series = Group(new[] { rows }, new[] { Enumerable.Range(0, rows.Channels.Count).ToArray() }, sortById: false, path);
        return new ScoresData(path, series, rows.Channels, rows.DateTime, rows.Method) { ModelId = rows.ModelId };
    }

    /// <summary>The columns of one file, row by row in file order.</summary>
    private sealed class FileRows(string path)
    {
        public string Path { get; } = path;
        public List<string> Ids { get; } = new();
        public List<long> Ts { get; } = new();
        public List<double> Score { get; } = new();
        public List<double> Threshold { get; } = new();
        public List<bool> Flag { get; } = new();
        public List<sbyte> Label { get; } = new();
        public List<RowSplit> Split { get; } = new();

        /// <summary>One list per channel, in <see cref="Channels"/> order.</summary>
        public List<double>[] Contrib { get; set; } = Array.Empty<List<double>>();
        public IReadOnlyList<string> Channels { get; set; } = Array.Empty<string>();
        public bool DateTime { get; set; }
        public string? Method { get; set; }
        public string? ModelId { get; set; }
    }

    /// <summary>
    /// Reads one file's rows. <paramref name="partitions"/> supply <c>series_id</c> and <c>split</c> to a file
    /// without those columns. Only from a directory are the <c>threshold_method</c>/<c>model_id</c> columns a
    /// fallback for the metadata and the old Spark <c>contributions</c> array read: a single file reads as it always has.
    /// </summary>
    private static async Task<FileRows> ReadRowsAsync(string path, IReadOnlyList<KeyValuePair<string, string>> partitions, bool fromDirectory)
    {
        await using var fs = File.OpenRead(path);
        await using var reader = await UntrustedParquet.OpenAsync(fs).ConfigureAwait(false);
        var fields = reader.Schema.DataFields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        string? Partition(string key) => partitions.LastOrDefault(p => p.Key == key).Value;
        DataField Need(string name) => fields.TryGetValue(name, out var f) ? f
            : throw new SparkAnomalyException($"scores file '{path}' has no '{name}' column (found: {string.Join(", ", fields.Keys.Take(12))}). Pass a scores.parquet written by 'sparkanomaly score'.");
        string? idPartition = fields.ContainsKey("series_id") ? null : Partition("series_id");
        var idField = idPartition is null ? Need("series_id") : null;
        var tsField = Need("timestamp");
        var scoreField = Need("score");
        var flagField = Need("is_anomaly");
        fields.TryGetValue("threshold", out var thresholdField);
        fields.TryGetValue("label", out var labelField);
        fields.TryGetValue("split", out var splitField);
        string? splitPartition = splitField is null ? Partition("split") : null;
        var contribFields = reader.Schema.DataFields.Where(f => f.Name.StartsWith("contrib_", StringComparison.Ordinal)).ToArray();
        var arrayField = fromDirectory && contribFields.Length == 0 ? ContributionsArray(reader.Schema, path) : null;
        var rows = new FileRows(path)
        {
            DateTime = tsField.ClrType == typeof(DateTime) || tsField.ClrType == typeof(DateTimeOffset),
            Channels = contribFields.Select(f => f.Name["contrib_".Length..]).ToList(),
            Contrib = contribFields.Select(_ => new List<double>()).ToArray(),
        };
        var ids = rows.Ids;
        var ts = rows.Ts;
        var score = rows.Score;
        var threshold = rows.Threshold;
        var flag = rows.Flag;
        var label = rows.Label;
        var split = rows.Split;
        var contrib = rows.Contrib;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int n = checked((int)rg.RowCount);
            if (idField is null)
            {
                ids.AddRange(Enumerable.Repeat(idPartition!, n));
            }
            else
            {
                var idCol = new string?[n];
                await rg.ReadAsync(idField, idCol.AsMemory(), null, default).ConfigureAwait(false);
                ids.AddRange(idCol.Select(s => s ?? ""));
            }
            ts.AddRange(await Timestamps(rg, tsField, n).ConfigureAwait(false));
            score.AddRange(await Doubles(rg, scoreField, n, path).ConfigureAwait(false));
            threshold.AddRange(thresholdField is null ? Enumerable.Repeat(double.NaN, n) : await Doubles(rg, thresholdField, n, path).ConfigureAwait(false));
            flag.AddRange(await Bools(rg, flagField, n, path).ConfigureAwait(false));
            label.AddRange(labelField is null ? Enumerable.Repeat(Series.NoLabel, n) : await Labels(rg, labelField, n, path).ConfigureAwait(false));
            if (splitField is null)
            {
                split.AddRange(Enumerable.Repeat(ParseSplit(splitPartition), n));
            }
            else
            {
                var s = new string?[n];
                await rg.ReadAsync(splitField, s.AsMemory(), null, default).ConfigureAwait(false);
                split.AddRange(s.Select(ParseSplit));
            }
            for (int c = 0; c < contribFields.Length; c++)
            {
                contrib[c].AddRange(await Doubles(rg, contribFields[c], n, path).ConfigureAwait(false));
            }
            if (arrayField is not null && n > 0)
            {
                await ReadContributionsArray(rg, arrayField, n, rows).ConfigureAwait(false);
            }
        }
        var meta = reader.CustomMetadata;
        if (meta is not null && meta.TryGetValue("sparkanomaly.threshold", out var tj))
        {
            try
            {
                rows.Method = System.Text.Json.JsonSerializer.Deserialize<ThresholdInfo>(tj)?.Method;
            }
            catch (System.Text.Json.JsonException)
            {
                // Informational only: a damaged metadata entry must not block evaluation of intact columns.
            }
        }
        rows.ModelId = meta is not null && meta.TryGetValue(OutputFiles.ScoresMarker, out var id) ? id : null;
        if (fromDirectory && reader.RowGroupCount > 0)
        {
            // Spark writes no footer metadata: the score job puts the model's id and rule in every row instead.
            using var rg = reader.OpenRowGroupReader(0);
            rows.Method ??= await FirstText(rg, fields.GetValueOrDefault("threshold_method")).ConfigureAwait(false);
            rows.ModelId ??= await FirstText(rg, fields.GetValueOrDefault("model_id")).ConfigureAwait(false);
        }
        return rows;
    }

    private static RowSplit ParseSplit(string? value) => value switch { "train" => RowSplit.Train, "test" => RowSplit.Test, _ => RowSplit.Unspecified };

    private static async Task<string?> FirstText(ParquetRowGroupReader rg, DataField? f)
    {
        // Parquet.Net gives a text column's type as string or ReadOnlyMemory<char> depending on the writer.
        if (f is null || (f.ClrType != typeof(string) && f.ClrType != typeof(ReadOnlyMemory<char>)) || rg.RowCount == 0)
        {
            return null;
        }
        var v = new string?[checked((int)rg.RowCount)];
        await rg.ReadAsync(f, v.AsMemory(), null, default).ConfigureAwait(false);
        return v[0];
    }

    /// <summary>
    /// Groups the rows of <paramref name="files"/> by series. <paramref name="channelOf"/>[file][c] is the index, in
    /// that file's own columns, of channel c. A single file keeps series in order of first appearance and rows in file
    /// order; with <paramref name="sortById"/> (a directory) series come in id order, rows sorted by timestamp, and a
    /// repeated timestamp is refused.
    /// </summary>
    private static List<ScoresSeries> Group(IReadOnlyList<FileRows> files, IReadOnlyList<int[]> channelOf, bool sortById, string source)
    {
        var order = new List<string>();
        var rowsOf = new Dictionary<string, List<(int File, int Row)>>(StringComparer.Ordinal);
        for (int f = 0; f < files.Count; f++)
        {
            var ids = files[f].Ids;
            for (int i = 0; i < ids.Count; i++)
            {
                if (!rowsOf.TryGetValue(ids[i], out var rows))
                {
                    rowsOf[ids[i]] = rows = new List<(int, int)>();
                    order.Add(ids[i]);
                }
                rows.Add((f, i));
            }
        }
        if (sortById)
        {
            order.Sort(StringComparer.Ordinal);
        }
        int channels = channelOf.Count == 0 ? 0 : channelOf[0].Length;
        return order.Select(id =>
        {
            var rows = rowsOf[id];
            if (sortById)
            {
                // Stable, so that of two rows at one timestamp the message names them in path order.
                rows = rows.OrderBy(r => files[r.File].Ts[r.Row]).ToList();
                for (int r = 1; r < rows.Count; r++)
                {
                    var (a, b) = (rows[r - 1], rows[r]);
                    long t = files[b.File].Ts[b.Row];
                    if (files[a.File].Ts[a.Row] == t)
                    {
                        string where = a.File == b.File ? $"twice in '{files[a.File].Path}'" : $"in '{files[a.File].Path}' and in '{files[b.File].Path}'";
                        throw new SparkAnomalyException(
                            $"scores directory '{source}': series '{id}' has two rows at timestamp {FormatTime(t, files[b.File].DateTime)} ({where}). "
                            + "Evaluation needs each step once, in time order: remove the extra part files (e.g. from an earlier run) or re-score into an empty directory.");
                    }
                }
            }
            var cm = new double[rows.Count * channels];
            for (int r = 0; r < rows.Count; r++)
            {
                var (f, i) = rows[r];
                for (int c = 0; c < channels; c++)
                {
                    cm[r * channels + c] = files[f].Contrib[channelOf[f][c]][i];
                }
            }
            T[] Column<T>(Func<FileRows, List<T>> column) => rows.Select(r => column(files[r.File])[r.Row]).ToArray();
            return new ScoresSeries(id, Column(x => x.Ts), Column(x => x.Score), Column(x => x.Threshold), Column(x => x.Flag), Column(x => x.Label), Column(x => x.Split), cm);
        }).ToList();
    }

    /// <summary>A timestamp as the reader holds it: Unix microseconds shown as ISO 8601 (UTC) for date-times, the integer otherwise.</summary>
    private static string FormatTime(long t, bool dateTime) => dateTime
        ? DateTime.UnixEpoch.AddTicks(t * 10).ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", System.Globalization.CultureInfo.InvariantCulture)
        : t.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static ScoresData ReadDirectory(string dir)
    {
        var files = PartitionedDirectory.Files(dir, name => name.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase));
        if (files.Count == 0)
        {
            throw new SparkAnomalyException(
                $"scores directory '{dir}' has no *.parquet file (names starting with _ or . are ignored). Pass the scores.parquet directory a Spark score job wrote, after it finished, or a scores.parquet file.");
        }
        var read = files.Select(f => ReadUntrusted(f.Path, p => ReadRowsAsync(p, f.Partitions, fromDirectory: true)))
            .Where(r => r.Ids.Count > 0) // Spark writes a part file with no rows for a task that had none
            .ToList();
        if (read.Count == 0)
        {
            throw new SparkAnomalyException($"scores directory '{dir}' has {files.Count} Parquet file(s) but no rows in any of them. Check that the score job scored some data.");
        }
        var first = read[0];
        var channelOf = new List<int[]>();
        foreach (var r in read)
        {
            if (r.DateTime != first.DateTime)
            {
                throw new SparkAnomalyException(
                    $"scores files '{first.Path}' and '{r.Path}' store the timestamp differently ({(first.DateTime ? "date-time" : "integer")} and {(r.DateTime ? "date-time" : "integer")}): they are not from one score run. Evaluate a directory written by one run.");
            }
            var index = first.Channels.Select(c => IndexOf(r.Channels, c)).ToArray();
            if (r.Channels.Count != first.Channels.Count || index.Contains(-1))
            {
                static string List(IReadOnlyList<string> channels) => channels.Count == 0 ? "none" : string.Join(", ", channels.Select(ScoresFile.ContributionColumn));
                throw new SparkAnomalyException(
                    $"scores files '{first.Path}' and '{r.Path}' have different contribution columns ({List(first.Channels)}; {List(r.Channels)}): they are not from one score run. Evaluate a directory written by one run.");
            }
            channelOf.Add(index);
        }
        var series = Group(read, channelOf, sortById: true, dir);
        return new ScoresData(dir, series, first.Channels, first.DateTime, read.Select(r => r.Method).FirstOrDefault(m => m is not null))
        {
            ModelId = read.Select(r => r.ModelId).FirstOrDefault(m => m is not null),
        };
    }

    private static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// The old Spark score job's <c>contributions</c> column (a list of doubles per row), or null without one. Any
    /// other shape is refused: the values could not be matched to channels.
    /// </summary>
    private static DataField? ContributionsArray(ParquetSchema schema, string path)
    {
        var field = schema.Fields.FirstOrDefault(f => f.Name == "contributions");
        if (field is null)
        {
            return null;
        }
        return field is ListField { Item: DataField item } && item.ClrType == typeof(double) && item.MaxRepetitionLevel == 1 ? item
            : throw new SparkAnomalyException(
                $"scores file '{path}': column 'contributions' is not a list of doubles, so its values cannot be matched to channels. Re-score with the current Spark score job, which writes one contrib_<channel> column per channel.");
    }

    /// <summary>
    /// Appends one row group of the <c>contributions</c> list to <paramref name="rows"/>: every row must hold the same
    /// number of non-null values (the model's channels), named channel_1..N since the array carries no names.
    /// </summary>
    private static async Task ReadContributionsArray(ParquetRowGroupReader rg, DataField item, int n, FileRows rows)
    {
        string path = rows.Path;
        string Refuse(string what) =>
            $"scores file '{path}': column 'contributions' {what}, so its values cannot be matched to channels. Re-score with the current Spark score job, which writes one contrib_<channel> column per channel.";
        long declared = rg.GetMetadata(item)?.MetaData?.NumValues ?? 0;
        // Bounds the allocation the file asks for: no model has anywhere near this many channels.
        if (declared < n || declared > (long)n * 65_536)
        {
            throw new SparkAnomalyException(Refuse($"declares {declared} values for {n} rows"));
        }
        int count = checked((int)declared);
        var values = new double[count];
        var definition = new int[count];
        var repetition = new int[count];
        await rg.ReadRawAsync<double>(item, values.AsMemory(), definition.AsMemory(), repetition.AsMemory(), default).ConfigureAwait(false);
        int starts = 0;
        for (int i = 0; i < count; i++)
        {
            if (definition[i] != item.MaxDefinitionLevel)
            {
                throw new SparkAnomalyException(Refuse("has a null or empty list or a null value"));
            }
            starts += repetition[i] == 0 ? 1 : 0;
        }
        // Every level is a defined value, so values are dense: row r's list is values[r * width ..] exactly when
        // n lists of one width start there.
        int width = count / n;
        if (starts != n || count != n * width || Enumerable.Range(0, n).Any(r => repetition[r * width] != 0))
        {
            throw new SparkAnomalyException(Refuse("does not hold the same number of values in every row"));
        }
        if (rows.Contrib.Length == 0)
        {
            rows.Contrib = Enumerable.Range(0, width).Select(_ => new List<double>()).ToArray();
            rows.Channels = Enumerable.Range(1, width).Select(c => ArrayChannelPrefix + c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        }
        else if (rows.Contrib.Length != width)
        {
            throw new SparkAnomalyException(Refuse($"holds {rows.Contrib.Length} values per row in one row group and {width} in another"));
        }
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < width; c++)
            {
                rows.Contrib[c].Add(values[r * width + c]);
            }
        }
    }

    internal static async Task<long[]> Timestamps(ParquetRowGroupReader rg, DataField f, int n)
    {
        var t = f.ClrType;
        if (t == typeof(DateTime))
        {
            return (await Values<DateTime>(rg, f, n).ConfigureAwait(false)).Select(d => TextValues.ToUnixMicros(d ?? DateTime.UnixEpoch)).ToArray();
        }
        if (t == typeof(long))
        {
            return (await Values<long>(rg, f, n).ConfigureAwait(false)).Select(v => v ?? 0).ToArray();
        }
        if (t == typeof(int))
        {
            return (await Values<int>(rg, f, n).ConfigureAwait(false)).Select(v => (long)(v ?? 0)).ToArray();
        }
        throw new SparkAnomalyException($"column 'timestamp' has type {t.Name}; a scores file stores int64 or timestamp values. Pass a scores.parquet written by 'sparkanomaly score'.");
    }

    private static async Task<double[]> Doubles(ParquetRowGroupReader rg, DataField f, int n, string path)
    {
        if (f.ClrType == typeof(double))
        {
            return (await Values<double>(rg, f, n).ConfigureAwait(false)).Select(v => v ?? double.NaN).ToArray();
        }
        if (f.ClrType == typeof(float))
        {
            return (await Values<float>(rg, f, n).ConfigureAwait(false)).Select(v => v is float x ? x : double.NaN).ToArray();
        }
        throw new SparkAnomalyException($"scores file '{path}': column '{f.Name}' has type {f.ClrType.Name}, not double. Pass a scores.parquet written by 'sparkanomaly score'.");
    }

    private static async Task<bool[]> Bools(ParquetRowGroupReader rg, DataField f, int n, string path)
    {
        if (f.ClrType != typeof(bool))
        {
            throw new SparkAnomalyException($"scores file '{path}': column '{f.Name}' has type {f.ClrType.Name}, not boolean. Pass a scores.parquet written by 'sparkanomaly score'.");
        }
        return (await Values<bool>(rg, f, n).ConfigureAwait(false)).Select(v => v ?? false).ToArray();
    }

    internal static async Task<sbyte[]> Labels(ParquetRowGroupReader rg, DataField f, int n, string path)
    {
        long?[] v = f.ClrType == typeof(int) ? (await Values<int>(rg, f, n).ConfigureAwait(false)).Select(x => (long?)x).ToArray()
            : f.ClrType == typeof(long) ? await Values<long>(rg, f, n).ConfigureAwait(false)
            : f.ClrType == typeof(bool) ? (await Values<bool>(rg, f, n).ConfigureAwait(false)).Select(x => x is bool b ? (long?)(b ? 1 : 0) : null).ToArray()
            : throw new SparkAnomalyException($"scores file '{path}': column 'label' has type {f.ClrType.Name}, not int32. Pass a scores.parquet written by 'sparkanomaly score'.");
        return v.Select(x => x switch { null => Series.NoLabel, 0 => (sbyte)0, _ => (sbyte)1 }).ToArray();
    }

    /// <summary>Reads a column as nullable values whether or not the schema declares it nullable.</summary>
    internal static async Task<T?[]> Values<T>(ParquetRowGroupReader rg, DataField f, int n)
        where T : struct
    {
        if (f.IsNullable)
        {
            var b = new T?[n];
            await rg.ReadAsync<T>(f, b.AsMemory(), null, default).ConfigureAwait(false);
            return b;
        }
        var a = new T[n];
        await rg.ReadAsync<T>(f, a.AsMemory(), null, default).ConfigureAwait(false);
        return a.Select(x => (T?)x).ToArray();
    }
}
