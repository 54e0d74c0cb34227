namespace SparkAnomaly.Data;

/// <summary>How the values of a timestamp column are to be read and written back.</summary>
public enum TimestampKind
{
    /// <summary>Integer steps (0, 1, 2, ...), or any integer the user chose.</summary>
    Step,

    /// <summary>Seconds since the Unix epoch.</summary>
    EpochSeconds,

    /// <summary>Milliseconds since the Unix epoch.</summary>
    EpochMillis,

    /// <summary>Calendar date-times (ISO 8601 text, or a Parquet timestamp); stored as Unix microseconds, UTC.</summary>
    DateTime,
}

/// <summary>Which part of the data a row belongs to, from the optional <c>split</c> column.</summary>
public enum RowSplit : byte
{
    /// <summary>No split given: the row may be trained on and is scored.</summary>
    Unspecified = 0,

    /// <summary><c>split=train</c>: the row may be trained on.</summary>
    Train = 1,

    /// <summary><c>split=test</c>: the row is never trained on.</summary>
    Test = 2,
}

/// <summary>
/// One time series: <see cref="Length"/> rows of <see cref="Channels"/> float channels, stored
/// row-major in one contiguous buffer so that windows are views, never copies.
/// </summary>
public sealed class Series
{
    /// <summary>Marks a row with no label in <see cref="Labels"/>.</summary>
    public const sbyte NoLabel = -1;

    /// <summary>A series over <paramref name="timestamps"/>, stored compactly when regular (<see cref="TimeAxis.From"/>).</summary>
    public Series(string id, long[] timestamps, float[] values, int channels, sbyte[]? labels = null, RowSplit[]? splits = null)
        : this(id, TimeAxis.From(timestamps ?? throw new ArgumentNullException(nameof(timestamps))), values, channels, labels, splits)
    {
    }

    public Series(string id, TimeAxis timestamps, float[] values, int channels, sbyte[]? labels = null, RowSplit[]? splits = null)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(timestamps);
        ArgumentNullException.ThrowIfNull(values);
        if (channels <= 0 || values.Length != (long)timestamps.Length * channels)
        {
            throw new ArgumentException($"series '{id}': {values.Length} values do not make {timestamps.Length} rows of {channels} channels");
        }
        if (labels is not null && labels.Length != timestamps.Length)
        {
            throw new ArgumentException($"series '{id}': {labels.Length} labels for {timestamps.Length} rows");
        }
        if (splits is not null && splits.Length != timestamps.Length)
        {
            throw new ArgumentException($"series '{id}': {splits.Length} split values for {timestamps.Length} rows");
        }
        Id = id;
        Timestamps = timestamps;
        Values = values;
        Channels = channels;
        Labels = labels;
        Splits = splits;
    }

    public string Id { get; }

    /// <summary>
    /// One per row, ascending; the unit is the owning <see cref="SeriesSet.TimestampKind"/>. Regularly
    /// sampled series keep them as runs (start, step), not one <c>long</c> per row.
    /// </summary>
    public TimeAxis Timestamps { get; }

    /// <summary>Row-major values: row <c>r</c>, channel <c>c</c> is at <c>r * Channels + c</c>.</summary>
    public float[] Values { get; }

    public int Channels { get; }

    /// <summary>0/1 per row, <see cref="NoLabel"/> where unknown; null when the input had no label column.</summary>
    public sbyte[]? Labels { get; }

    /// <summary>Per-row split; null when the input had no split column (every row is <see cref="RowSplit.Unspecified"/>).</summary>
    public RowSplit[]? Splits { get; }

    public int Length => Timestamps.Length;

    /// <summary>The rows <c>[start, start + length)</c> as a view over <see cref="Values"/>.</summary>
    public ReadOnlySpan<float> Rows(int start, int length) => Values.AsSpan(start * Channels, length * Channels);

    /// <summary>True when the row may be trained on (its split is not <see cref="RowSplit.Test"/>).</summary>
    public bool IsTrainable(int row) => Splits is null || Splits[row] != RowSplit.Test;
}

/// <summary>A set of series that share channel names and a timestamp kind: what the readers return.</summary>
public sealed class SeriesSet
{
    public SeriesSet(IReadOnlyList<Series> series, IReadOnlyList<string> channelNames, TimestampKind timestampKind, string source)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(channelNames);
        foreach (var s in series)
        {
            if (s.Channels != channelNames.Count)
            {
                throw new ArgumentException($"series '{s.Id}' has {s.Channels} channels, the set has {channelNames.Count}");
            }
        }
        Series = series;
        ChannelNames = channelNames;
        TimestampKind = timestampKind;
        Source = source;
    }

    public IReadOnlyList<Series> Series { get; }

    public IReadOnlyList<string> ChannelNames { get; }

    public int Channels => ChannelNames.Count;

    public TimestampKind TimestampKind { get; }

    /// <summary>Where the data came from (a path, or a generator's description), for messages and provenance.</summary>
    public string Source { get; }

    public long TotalRows => Series.Sum(s => (long)s.Length);

    public bool HasLabels => Series.Any(s => s.Labels is not null);
}
