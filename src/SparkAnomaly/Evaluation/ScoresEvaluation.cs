using SparkAnomaly.Data;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Evaluation;

/// <summary>
/// Evaluates a scores file: which rows count (labelled rows, and only the test rows when a split says
/// so), labels joined from a separate file, and the <see cref="EvaluationReport"/> over them.
/// </summary>
public static class ScoresEvaluation
{
    /// <summary>
    /// The channels that stood out most in a series, most first: ranked by the sum over its rows of each contribution
    /// above the channel's own median. A channel whose error is always high is not what raised an alarm, and under the
    /// reconstruction-probability rules every channel's contribution carries its own constant ½·log 2πσ².
    /// </summary>
    public static IReadOnlyList<int> DrivingChannels(ScoresSeries s, int channels, int count)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (channels <= 0 || s.Contributions.Length != s.Length * channels)
        {
            return Array.Empty<int>();
        }
        return Enumerable.Range(0, channels)
            .Select(c =>
            {
                var values = Enumerable.Range(0, s.Length).Select(r => s.Contributions[r * channels + c]).ToArray();
                var sorted = values.Order().ToArray();
                double median = sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
                return (Channel: c, Excess: values.Sum(v => Math.Max(0, v - median)));
            })
            .OrderByDescending(x => x.Excess)
            .ThenBy(x => x.Channel)
            .Take(count)
            .Select(x => x.Channel)
            .ToList();
    }

    /// <summary>
    /// Rows that count: a known label, and not <c>split=train</c> (training rows would flatter the model:
    /// its threshold was fitted on them).
    /// </summary>
    public static bool[] LabelledMask(ScoresSeries s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var mask = new bool[s.Length];
        for (int r = 0; r < s.Length; r++)
        {
            mask[r] = s.Labels[r] != Series.NoLabel && s.Splits[r] != RowSplit.Train;
        }
        return mask;
    }

    /// <summary>One <see cref="EvaluationSeries"/> per series that has at least one row that counts, in file order.</summary>
    public static IReadOnlyList<(ScoresSeries Series, EvaluationSeries Evaluation)> ToEvaluationSeries(ScoresData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var result = new List<(ScoresSeries, EvaluationSeries)>();
        foreach (var s in data.Series)
        {
            var mask = LabelledMask(s);
            if (!mask.Contains(true))
            {
                continue;
            }
            result.Add((s, new EvaluationSeries(s.Score, s.IsAnomaly, s.Labels.Select(l => l == 1).ToArray(), mask)));
        }
        return result;
    }

    /// <summary>The report over the rows that count.</summary>
    /// <exception cref="SparkAnomalyException">No row has a label (outside split=train).</exception>
    public static EvaluationReport Evaluate(ScoresData data)
    {
        var series = ToEvaluationSeries(data);
        if (series.Count == 0)
        {
            throw new SparkAnomalyException(
                $"scores file '{data.Source}' has no labelled row to evaluate (outside split=train). Pass --labels FILE with series_id,timestamp,label columns, or score data that has a label column.");
        }
        return Metrics.Evaluate(series.Select(s => s.Evaluation).ToList());
    }

    /// <summary>
    /// Replaces the labels of <paramref name="data"/> by those of a CSV or Parquet file with
    /// <c>series_id</c>, <c>timestamp</c> and <c>label</c> columns, joined on (series_id, timestamp).
    /// Rows with no match get no label. Timestamps are compared in the units the readers give
    /// (integers as written, date-times as Unix microseconds), so both files must use the same kind.
    /// </summary>
    /// <exception cref="SparkAnomalyException">The file cannot be read, or no row matches.</exception>
    public static ScoresData WithLabels(ScoresData data, string labelsPath) => WithLabels(data, labelsPath, new LabelsOptions(), out _);

    /// <summary>
    /// Replaces the labels of <paramref name="data"/> by those of a labels file whose columns <paramref name="options"/>
    /// names, joined on (series, timestamp); rows with no match get no label. A file without a series column is one
    /// series: the scores' series of the file's name, else the scores' only series. Its timestamps must be of the scores'
    /// kind: date-times for date-time scores, integers or row numbers (no time column) for the others.
    /// </summary>
    /// <exception cref="SparkAnomalyException">
    /// The file cannot be read, its timestamps are of the other kind, it is one series and the scores have several, or
    /// no row matches; each message names examples from both files and the option to pass.
    /// </exception>
    public static ScoresData WithLabels(ScoresData data, string labelsPath, LabelsOptions options, out LabelsJoin join)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(labelsPath);
        ArgumentNullException.ThrowIfNull(options);
        var table = LabelsFile.Read(labelsPath, options);
        CheckTimeKind(data, table, options);
        var map = table.Map;
        if (table.SingleSeries is string single && map.Count > 0)
        {
            string target = data.Series.Any(s => s.Id == single) ? single
                : data.Series.Count == 1 ? data.Series[0].Id
                : throw new SparkAnomalyException(
                    $"labels file '{labelsPath}' has no series column ('{options.SeriesColumn ?? ReadOptions.DefaultSeriesColumn}'), so it is one series, but '{data.Source}' has {data.Series.Count} series ({Examples(data.Series.Select(s => s.Id))}) and none is named '{single}'. "
                    + $"Pass --series-column with the labels file's column of series ids (found: {string.Join(", ", table.Columns)}), or evaluate the scores of one series.");
            if (target != single)
            {
                map = map.ToDictionary(kv => (target, kv.Key.Timestamp), kv => kv.Value);
            }
        }
        long matched = 0;
        var series = data.Series.Select(s =>
        {
            var labels = new sbyte[s.Length];
            for (int r = 0; r < s.Length; r++)
            {
                if (map.TryGetValue((s.Id, s.Timestamps[r]), out var l))
                {
                    labels[r] = l;
                    matched++;
                }
                else
                {
                    labels[r] = Series.NoLabel;
                }
            }
            return s with { Labels = labels };
        }).ToList();
        if (matched == 0)
        {
            throw new SparkAnomalyException(NoMatch(data, table, map, options));
        }
        join = new LabelsJoin(labelsPath, map.Count, matched);
        return data with { Series = series };
    }

    /// <summary>Date-time scores need date-time labels, and integer (or step) scores integer or row-number labels.</summary>
    private static void CheckTimeKind(ScoresData data, LabelsTable table, LabelsOptions options)
    {
        bool labelsDateTime = table.TimeKind == LabelsTimeKind.DateTime;
        if (labelsDateTime == data.DateTimeTimestamps || table.Map.Count == 0 || data.Series.All(s => s.Length == 0))
        {
            return;
        }
        var scored = data.Series.First(s => s.Length > 0);
        string scoresExample = $"'{scored.Id}' at {LabelsFile.Show(scored.Timestamps[0], data.DateTimeTimestamps)}";
        var first = table.Map.Keys.First();
        string labelsExample = $"'{first.SeriesId}' at {table.Show(first.Timestamp)}";
        if (data.DateTimeTimestamps)
        {
            string what = table.TimeKind == LabelsTimeKind.Steps
                ? $"has no time column '{options.TimeColumn}', so its rows are numbered 0, 1, 2, … in file order (e.g. {labelsExample})"
                : $"has integer timestamps in column '{table.TimeColumn}' (e.g. {labelsExample})";
            throw new SparkAnomalyException(
                $"labels file '{table.Path}' {what}, but the scores in '{data.Source}' have date-times (e.g. {scoresExample}), so no row can match. Pass --time-column with the labels file's date-time column (found: {string.Join(", ", table.Columns)}).");
        }
        string byPosition = options.TimeColumn != ReadOptions.DefaultTimeColumn
            ? "; or leave out --time-column, so that the labels' rows are numbered 0, 1, 2, … and match the scored steps by position (right when the labels file has one row per scored step, in order, e.g. it is the scored data file)"
            : "";
        throw new SparkAnomalyException(
            $"labels file '{table.Path}' has date-times in column '{table.TimeColumn}' (e.g. {labelsExample}), but the scores in '{data.Source}' have integer timestamps (e.g. {scoresExample}): the data was scored without a date-time column. "
            + $"Score it again with --time-column {table.TimeColumn} so that both have date-times, then evaluate{byPosition}.");
    }

    /// <summary>Why nothing matched: the series ids differ, or in a series both files have, the timestamps do.</summary>
    private static string NoMatch(ScoresData data, LabelsTable table, Dictionary<(string SeriesId, long Timestamp), sbyte> map, LabelsOptions options)
    {
        string source = $"labels file '{table.Path}' matches no row of '{data.Source}'";
        if (map.Count == 0)
        {
            return $"{source}: it has no labelled row (every '{options.LabelColumn}' cell is empty). Pass --label-column with the 0/1 column.";
        }
        var labelIds = map.Keys.Select(k => k.SeriesId).Distinct(StringComparer.Ordinal).ToList();
        var scoreIds = data.Series.Where(s => s.Length > 0).ToDictionary(s => s.Id, StringComparer.Ordinal);
        string columns = string.Join(", ", table.Columns);
        string? common = labelIds.FirstOrDefault(scoreIds.ContainsKey);
        bool dateTime = data.DateTimeTimestamps;
        if (common is null)
        {
            var l = map.Keys.First();
            var s = data.Series.FirstOrDefault(x => x.Length > 0);
            string scoresSide = s is null ? "the scores have no rows" : $"the scores' series are {Examples(scoreIds.Keys)} (e.g. '{s.Id}' at {LabelsFile.Show(s.Timestamps[0], dateTime)})";
            string seriesSource = table.SeriesColumn is null ? "it has no series column, so it is one series named after the file" : $"column '{table.SeriesColumn}'";
            return $"{source}: no series id is in both. The labels' series are {Examples(labelIds)} (e.g. '{l.SeriesId}' at {table.Show(l.Timestamp)}; {seriesSource}); {scoresSide}. "
                + $"Pass --series-column with the labels file's column that holds the scores' series ids (found: {columns}).";
        }
        var stamps = map.Keys.Where(k => k.SeriesId == common).Select(k => k.Timestamp).ToList();
        var scoredStamps = scoreIds[common].Timestamps;
        string timeSource = table.TimeColumn is null ? $"it has no time column '{options.TimeColumn}', so its rows are numbered 0, 1, 2, … in file order" : $"column '{table.TimeColumn}'";
        return $"{source}: in series '{common}' no timestamp is in both. The labels run from {table.Show(stamps.Min())} to {table.Show(stamps.Max())} ({timeSource}); the scores from {LabelsFile.Show(scoredStamps.Min(), dateTime)} to {LabelsFile.Show(scoredStamps.Max(), dateTime)}. "
            + $"Pass --time-column with the labels file's column that holds the scores' timestamps (found: {columns}); they are compared exactly{(dateTime ? ", date-times in UTC (text without an offset is UTC)" : "")}.";
    }

    private static string Examples(IEnumerable<string> ids)
    {
        var list = ids.Take(4).ToList();
        return string.Join(", ", list.Take(3).Select(i => $"'{i}'")) + (list.Count > 3 ? ", …" : "");
    }

    /// <summary>How the rows of <paramref name="data"/> are counted by <see cref="Evaluate"/>.</summary>
    public static RowCounts CountRows(ScoresData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        long total = 0, train = 0, unlabelled = 0;
        foreach (var s in data.Series)
        {
            for (int r = 0; r < s.Length; r++)
            {
                total++;
                if (s.Splits[r] == RowSplit.Train)
                {
                    train++;
                }
                else if (s.Labels[r] == Series.NoLabel)
                {
                    unlabelled++;
                }
            }
        }
        return new RowCounts(total, total - train - unlabelled, train, unlabelled);
    }
}

/// <summary>How the rows of a scores file are counted by <see cref="ScoresEvaluation.Evaluate"/>.</summary>
/// <param name="Total">Every row of the file.</param>
/// <param name="Evaluated">Rows with a label and not <c>split=train</c>: the rows the metrics count.</param>
/// <param name="SplitTrain">Rows left out as <c>split=train</c> (labelled or not): the threshold was fitted on them.</param>
/// <param name="Unlabelled">The other rows left out: not <c>split=train</c>, but without a label.</param>
public sealed record RowCounts(long Total, long Evaluated, long SplitTrain, long Unlabelled);

/// <summary>How a labels file joined a scores file.</summary>
/// <param name="Path">The labels file.</param>
/// <param name="LabelRows">Its labelled (series, timestamp) pairs.</param>
/// <param name="Matched">Scored rows that took a label from it.</param>
public sealed record LabelsJoin(string Path, long LabelRows, long Matched);
