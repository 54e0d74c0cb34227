namespace SparkAnomaly.Data;

/// <summary>
/// Reads long-format multivariate time series (<c>series_id, timestamp, channels..., label?, split?</c>)
/// from CSV, Parquet, or a Spark/Hive-style directory, validates them and returns a <see cref="SeriesSet"/>.
/// </summary>
/// <remarks>
/// <para>Series keep the order in which they first appear (files in ordinal path order); rows of a series are
/// ordered by time (<see cref="ReadOptions.Order"/>). A series is never returned with zero rows.</para>
/// <para>Timestamps: ISO 8601 text or a Parquet timestamp is <see cref="TimestampKind.DateTime"/> (Unix
/// microseconds, UTC; text without an offset is UTC). Integers are <see cref="TimestampKind.EpochSeconds"/>
/// when every value lies in [1e9, 4.2e9] (2001-09-09 to 2103), <see cref="TimestampKind.EpochMillis"/> when every
/// value lies in [1e12, 4.2e12], and <see cref="TimestampKind.Step"/> otherwise. Without a time column, each
/// series gets steps 0..n-1 in input order.</para>
/// <para>Directories: every <c>*.parquet</c>, <c>*.csv</c>, <c>*.tsv</c> and <c>part-*.txt</c> file below it is read,
/// except names starting with <c>_</c> or <c>.</c> (<c>_SUCCESS</c>, <c>_temporary/</c>, <c>.crc</c>);
/// <c>key=value</c> folders add a text column <c>key</c> (URL-decoded; never picked as a channel automatically).
/// Empty part files are skipped.</para>
/// <para>Every failure is a <see cref="SparkAnomalyException"/> whose one-line message names the file, row (or row
/// group) and column, the offending value, and what to do.</para>
/// </remarks>
public static class DataReader
{
    private static readonly string[] s_csvExtensions = [".csv", ".tsv", ".txt"];

    /// <summary>Reads CSV (.csv/.tsv/.txt), a Parquet file (.parquet), or a Spark/Hive-style directory.</summary>
    public static SeriesSet Read(string path, ReadOptions? options = null) => Read(path, options, out _);

    /// <summary>As <see cref="Read(string, ReadOptions?)"/>, also returning warnings (one line each): irregular sampling, sorted rows, dropped or interpolated cells, ignored columns.</summary>
    public static SeriesSet Read(string path, ReadOptions? options, out IReadOnlyList<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new ReadOptions();
        CheckOptions(options);
        var ctx = new ReadContext(options, path);
        if (File.Exists(path))
        {
            ReadFile(ctx, path, Array.Empty<KeyValuePair<string, string>>(), requireRows: true);
        }
        else if (Directory.Exists(path))
        {
            ReadDirectory(ctx, path);
        }
        else
        {
            throw new SparkAnomalyException($"Input '{path}' does not exist. Check the path passed to --data.");
        }
        var result = Finish(ctx);
        warnings = ctx.Warnings;
        return result;
    }

    private static void CheckOptions(ReadOptions options)
    {
        if (options.Channels is not null)
        {
            if (options.Channels.Count == 0)
            {
                throw new SparkAnomalyException("The channel list is empty. Pass --channels a,b,c, or leave it out to use every numeric column.");
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in options.Channels)
            {
                if (string.IsNullOrWhiteSpace(c) || !seen.Add(c))
                {
                    throw new SparkAnomalyException($"Channel '{c}' is empty or listed twice in --channels. Give each channel once.");
                }
            }
        }
        if (options.ExcludeChannels is not null)
        {
            if (options.Channels is not null)
            {
                throw new SparkAnomalyException(
                    "--channels and --exclude-channels both choose the channels; pass one of them: --channels lists the columns to use, --exclude-channels the numeric columns to leave out.");
            }
            if (options.ExcludeChannels.Count == 0)
            {
                throw new SparkAnomalyException("The --exclude-channels list is empty. Name the columns to leave out, e.g. --exclude-channels \"Volume Flow RateRMS\",Current, or leave the option out.");
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in options.ExcludeChannels)
            {
                if (string.IsNullOrWhiteSpace(c) || !seen.Add(c))
                {
                    throw new SparkAnomalyException($"Column '{c}' is empty or listed twice in --exclude-channels. Give each column once.");
                }
            }
        }
        if (string.IsNullOrEmpty(options.TimeColumn) || string.IsNullOrEmpty(options.LabelColumn) || string.IsNullOrEmpty(options.SplitColumn))
        {
            throw new SparkAnomalyException("The time, label and split column names must not be empty. Pass a column name to --time-column, --label-column or --split-column.");
        }
    }

    private static long ReadFile(ReadContext ctx, string path, IReadOnlyList<KeyValuePair<string, string>> partitions, bool requireRows)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext == ".parquet" || (!s_csvExtensions.Contains(ext) && HasParquetMagic(path)))
        {
            return ParquetSource.Read(ctx, path, partitions, requireRows);
        }
        if (s_csvExtensions.Contains(ext))
        {
            return CsvSource.Read(ctx, path, partitions, requireRows);
        }
        throw new SparkAnomalyException($"'{path}' is neither CSV (.csv, .tsv, .txt) nor Parquet (.parquet). Rename it with the right extension or convert it.");
    }

    private static bool HasParquetMagic(string path)
    {
        try
        {
            using var fs = File.OpenRead(path);
            Span<byte> head = stackalloc byte[4];
            return fs.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && head.SequenceEqual("PAR1"u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SparkAnomalyException($"'{path}' could not be opened: {e.Message.TrimEnd('.')}. Check the path and its permissions.", e);
        }
    }

    private static void ReadDirectory(ReadContext ctx, string dir)
    {
        var files = PartitionedDirectory.Files(dir, IsDataFileName);
        if (files.Count == 0)
        {
            throw new SparkAnomalyException(
                $"Directory '{dir}' has no data files (*.parquet, *.csv, *.tsv, part-*.txt; names starting with _ or . are ignored). Point --data at a Spark output directory or a data file.");
        }
        long rows = 0;
        foreach (var (path, partitions) in files)
        {
            rows += ReadFile(ctx, path, partitions, requireRows: false);
        }
        if (rows == 0)
        {
            throw new SparkAnomalyException($"Directory '{dir}' has {files.Count} data file(s) but no data rows in any of them. Check that the job that wrote it produced output.");
        }
    }

    private static bool IsDataFileName(string name)
    {
        string ext = Path.GetExtension(name).ToLowerInvariant();
        // .txt only as a part file, so that a README.txt next to the data is not parsed.
        bool csv = ext is ".csv" or ".tsv" || (ext == ".txt" && name.StartsWith("part-", StringComparison.Ordinal));
        return ext == ".parquet" || csv;
    }

    private static SeriesSet Finish(ReadContext ctx)
    {
        bool timeFromColumn = ctx.TimeMode is TimeMode.Integer or TimeMode.DateTime;
        var series = new List<Series>(ctx.Builders.Count);
        foreach (var b in ctx.Builders)
        {
            if (b.Count == 0)
            {
                continue; // e.g. the single-series builder of an empty part file
            }
            var s = b.Build(ctx, timeFromColumn);
            if (s is not null)
            {
                series.Add(s);
            }
        }
        if (series.Count == 0)
        {
            throw new SparkAnomalyException($"'{ctx.Source}': no rows are left after dropping rows with missing values. Fix the data or pass --missing interpolate.");
        }
        var kind = ctx.TimeMode switch
        {
            TimeMode.DateTime => TimestampKind.DateTime,
            TimeMode.Integer => IntegerKind(series),
            _ => TimestampKind.Step,
        };
        return new SeriesSet(series, ctx.ChannelNames!, kind, ctx.Source);
    }

    private static TimestampKind IntegerKind(List<Series> series)
    {
        long min = long.MaxValue;
        long max = long.MinValue;
        foreach (var s in series)
        {
            min = Math.Min(min, s.Timestamps[0]);
            max = Math.Max(max, s.Timestamps[^1]);
        }
        if (min >= 1_000_000_000L && max <= 4_200_000_000L)
        {
            return TimestampKind.EpochSeconds;
        }
        if (min >= 1_000_000_000_000L && max <= 4_200_000_000_000L)
        {
            return TimestampKind.EpochMillis;
        }
        return TimestampKind.Step;
    }
}
