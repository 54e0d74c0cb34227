using System.Globalization;
using System.Text;

namespace SparkAnomaly.Data;

/// <summary>How the timestamps of the input are being read; fixed by the first file or value that decides it.</summary>
internal enum TimeMode
{
    Unknown,
    Steps,
    Integer,
    DateTime,
}

/// <summary>One input file, kept so that row origins can be turned back into "file, row" for messages.</summary>
internal sealed class InputFile
{
    public InputFile(string path, bool isParquet)
    {
        Path = path;
        IsParquet = isParquet;
    }

    public string Path { get; }

    public bool IsParquet { get; }

    /// <summary>Parquet only: the 1-based file row at which each row group starts.</summary>
    public List<long> RowGroupStarts { get; } = new();
}

/// <summary>
/// State shared by the readers of one <see cref="DataReader.Read(string, ReadOptions?)"/> call: the
/// options, the files, the chosen channels, the series being built and the warnings.
/// </summary>
internal sealed class ReadContext
{
    private const int FileShift = 40;
    private const long RowMask = (1L << FileShift) - 1;

    private readonly Dictionary<string, SeriesBuilder> _byId = new(StringComparer.Ordinal);
    private SeriesBuilder? _last;
    private byte[] _lastKey = Array.Empty<byte>();

    public ReadContext(ReadOptions options, string source)
    {
        Options = options;
        Source = source;
    }

    public ReadOptions Options { get; }

    public string Source { get; }

    public List<InputFile> Files { get; } = new();

    public List<string> Warnings { get; } = new();

    public List<SeriesBuilder> Builders { get; } = new();

    /// <summary>Channel names chosen by the first file; later files must have the same channels.</summary>
    public string[]? ChannelNames { get; set; }

    public TimeMode TimeMode { get; set; } = TimeMode.Unknown;

    /// <summary>The time column's name as found in the first file that had one (for messages).</summary>
    public string TimeColumnName { get; set; } = ReadOptions.DefaultTimeColumn;

    /// <summary>Where the time mode was decided, for the message when a later value disagrees.</summary>
    public string TimeModeOrigin { get; set; } = "";

    public bool HasLabelColumn { get; set; }

    public bool HasSplitColumn { get; set; }

    public long TotalRows { get; set; }

    public int AddFile(InputFile file)
    {
        Files.Add(file);
        return Files.Count - 1;
    }

    public static long Origin(int fileIndex, long row) => ((long)fileIndex << FileShift) | row;

    /// <summary>"'file' data row 12" (CSV) or "'file' row 12 (row group 0)" (Parquet).</summary>
    public string Describe(long origin)
    {
        var file = Files[(int)(origin >> FileShift)];
        long row = origin & RowMask;
        if (!file.IsParquet)
        {
            return $"'{file.Path}' data row {row}";
        }
        int g = file.RowGroupStarts.BinarySearch(row);
        if (g < 0)
        {
            g = ~g - 1;
        }
        return $"'{file.Path}' row {row} (row group {Math.Max(g, 0)})";
    }

    public string FileOf(long origin) => Files[(int)(origin >> FileShift)].Path;

    public SeriesBuilder GetSeries(string id)
    {
        if (_last is not null && _last.Id == id)
        {
            return _last;
        }
        if (!_byId.TryGetValue(id, out var b))
        {
            b = new SeriesBuilder(id, ChannelNames!.Length);
            _byId.Add(id, b);
            Builders.Add(b);
        }
        _last = b;
        _lastKey = Array.Empty<byte>();
        return b;
    }

    /// <summary>The series for a UTF-8 id; allocates only when the id differs from the previous row's.</summary>
    public SeriesBuilder GetSeries(ReadOnlySpan<byte> utf8Id)
    {
        if (_last is not null && _lastKey.Length > 0 && utf8Id.SequenceEqual(_lastKey))
        {
            return _last;
        }
        var b = GetSeries(Encoding.UTF8.GetString(utf8Id));
        _lastKey = utf8Id.ToArray();
        return b;
    }

    public string FormatTime(long t) => TimeMode == TimeMode.DateTime
        ? DateTime.UnixEpoch.AddTicks(t * 10).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture)
        : t.ToString(CultureInfo.InvariantCulture);
}
