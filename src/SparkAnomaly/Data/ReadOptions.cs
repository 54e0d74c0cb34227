namespace SparkAnomaly.Data;

/// <summary>What the readers do with NaN, infinite, huge (|x| &gt; 1e30) or empty channel cells.</summary>
public enum MissingPolicy
{
    /// <summary>Stop with an error naming the file, row and column.</summary>
    Reject,

    /// <summary>Fill linearly in time within the series, per channel; edges take the nearest valid value.</summary>
    Interpolate,

    /// <summary>Remove the whole row.</summary>
    Drop,
}

/// <summary>What the readers do when timestamps within a series are not ascending.</summary>
public enum OrderPolicy
{
    /// <summary>Sort the rows of each series by time (stable), with a warning.</summary>
    Sort,

    /// <summary>Stop with an error naming the first row that goes back in time.</summary>
    Reject,
}

/// <summary>
/// How <see cref="DataReader"/> maps the columns of a file to series, time, channels, labels and splits.
/// Column names are matched case-sensitively first, then case-insensitively.
/// </summary>
/// <remarks>
/// The defaults for the series, time, label and split columns are optional: when a file has no column of
/// that default name, the data is one series named after the file, timestamps are steps 0..n-1, and there
/// are no labels or splits. A name other than the default that is absent from the file is an error.
/// </remarks>
public sealed record ReadOptions
{
    /// <summary>Default of <see cref="SeriesColumn"/>.</summary>
    public const string DefaultSeriesColumn = "series_id";

    /// <summary>Default of <see cref="TimeColumn"/>.</summary>
    public const string DefaultTimeColumn = "timestamp";

    /// <summary>Default of <see cref="LabelColumn"/>.</summary>
    public const string DefaultLabelColumn = "label";

    /// <summary>Default of <see cref="SplitColumn"/>.</summary>
    public const string DefaultSplitColumn = "split";

    /// <summary>The series id column; null, or the default name absent from the file, means one series named after the file.</summary>
    public string? SeriesColumn { get; init; } = DefaultSeriesColumn;

    /// <summary>The time column; the default name absent from the file means integer steps 0..n-1 per series.</summary>
    public string TimeColumn { get; init; } = DefaultTimeColumn;

    /// <summary>The channel columns in order; null means every numeric column that is not series, time, label or split.</summary>
    public IReadOnlyList<string>? Channels { get; init; }

    /// <summary>
    /// Columns to leave out of the channels chosen automatically (every numeric column that is not series, time,
    /// label or split); null leaves none out. Each must be a column of the file. Not together with <see cref="Channels"/>.
    /// </summary>
    public IReadOnlyList<string>? ExcludeChannels { get; init; }

    /// <summary>
    /// Where <see cref="Channels"/> came from when the user did not list them, e.g. <c>model 'run1/model.parquet'</c>:
    /// a missing column is then reported as a channel the model needs, not as a bad --channels.
    /// </summary>
    public string? ChannelsSource { get; init; }

    /// <summary>Optional 0/1 label column (empty cells are unlabelled rows).</summary>
    public string LabelColumn { get; init; } = DefaultLabelColumn;

    /// <summary>Optional split column; values train, test or empty (case-insensitive).</summary>
    public string SplitColumn { get; init; } = DefaultSplitColumn;

    /// <summary>CSV delimiter; null detects it from the header among <c>, ; \t |</c>.</summary>
    public char? Delimiter { get; init; }

    /// <summary>What to do with NaN, Inf, |x| &gt; 1e30 and empty channel cells.</summary>
    public MissingPolicy Missing { get; init; } = MissingPolicy.Reject;

    /// <summary>What to do with out-of-order timestamps. Duplicate timestamps in a series are always an error.</summary>
    public OrderPolicy Order { get; init; } = OrderPolicy.Sort;
}
