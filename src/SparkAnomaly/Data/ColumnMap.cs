namespace SparkAnomaly.Data;

/// <summary>Which column of one file (by index) plays which role; partition columns come after the file's own.</summary>
internal sealed class ColumnMap
{
    private ColumnMap(int[] channels)
    {
        Channels = channels;
    }

    public int Series { get; private init; } = -1;

    public int Time { get; private init; } = -1;

    public int Label { get; private init; } = -1;

    public int Split { get; private init; } = -1;

    public int[] Channels { get; }

    /// <summary>
    /// Resolves the roles for a file with the given column names. <paramref name="isNumeric"/> says whether
    /// a column may be a channel when <see cref="ReadOptions.Channels"/> is null; columns at or after
    /// <paramref name="partitionStart"/> come from key=value folders and are never picked automatically.
    /// <paramref name="noChannelHint"/>, when given, adds to the message for a file with no numeric column
    /// (a CSV's reader knows about delimiters and decimal commas; this class does not).
    /// </summary>
    public static ColumnMap Resolve(ReadContext ctx, string file, IReadOnlyList<string> names, Func<int, bool> isNumeric, int partitionStart, Func<string>? noChannelHint = null)
    {
        var options = ctx.Options;
        CheckDuplicates(file, names);
        int series = Optional(file, names, options.SeriesColumn, ReadOptions.DefaultSeriesColumn, "--series-column");
        int time = Optional(file, names, options.TimeColumn, ReadOptions.DefaultTimeColumn, "--time-column");
        int label = Optional(file, names, options.LabelColumn, ReadOptions.DefaultLabelColumn, "--label-column");
        int split = Optional(file, names, options.SplitColumn, ReadOptions.DefaultSplitColumn, "--split-column");
        var roles = new HashSet<int> { series, time, label, split };
        roles.Remove(-1);

        IReadOnlyList<string>? wanted = ctx.ChannelNames ?? options.Channels;
        int[] channels;
        if (wanted is not null)
        {
            channels = new int[wanted.Count];
            for (int c = 0; c < wanted.Count; c++)
            {
                int i = Find(file, names, wanted[c]);
                if (i < 0 && options.ChannelsSource is not null && options.Channels is not null)
                {
                    throw new SparkAnomalyException(
                        $"'{file}': no column '{wanted[c]}', a channel of {options.ChannelsSource} (found: {string.Join(", ", names)}). The data needs every channel the model was trained on ({string.Join(", ", options.Channels)}), under the same names: rename the columns, or train a model on this data.");
                }
                if (i < 0)
                {
                    string why = ctx.ChannelNames is not null && options.Channels is null
                        ? $"the channel '{wanted[c]}' of '{ctx.Files[0].Path}' is missing"
                        : $"no column '{wanted[c]}'";
                    throw new SparkAnomalyException(
                        $"'{file}': {why} (found: {string.Join(", ", names)}). Pass --channels with columns that every file has.");
                }
                if (roles.Contains(i))
                {
                    throw new SparkAnomalyException(
                        $"'{file}': column '{names[i]}' is asked for as a channel but is also the series, time, label or split column. Remove it from --channels.");
                }
                channels[c] = i;
            }
        }
        else
        {
            var picked = new List<int>();
            var skipped = new List<string>();
            var unnamed = new List<int>();
            var excluded = Excluded(file, names, options, roles, series, time, label, split, i => i < partitionStart && !roles.Contains(i) && !string.IsNullOrWhiteSpace(names[i]) && isNumeric(i));
            for (int i = 0; i < partitionStart; i++)
            {
                if (roles.Contains(i) || excluded.Contains(i))
                {
                    continue;
                }
                if (string.IsNullOrWhiteSpace(names[i]))
                {
                    // Numeric or not: a channel needs a name (in the model, in --channels, in the scores).
                    unnamed.Add(i + 1);
                }
                else if (isNumeric(i))
                {
                    picked.Add(i);
                }
                else
                {
                    skipped.Add(names[i]);
                }
            }
            if (picked.Count == 0 && excluded.Count > 0)
            {
                throw new SparkAnomalyException(
                    $"'{file}': no channel is left: --exclude-channels leaves out {string.Join(", ", excluded.Order().Select(i => $"'{names[i]}'"))}, and no other column is numeric (found: {string.Join(", ", names)}). Leave at least one numeric column in.");
            }
            if (picked.Count == 0)
            {
                throw new SparkAnomalyException(
                    $"'{file}' has no numeric channel column (found: {string.Join(", ", names)}). Pass --channels a,b,c naming the numeric columns, and --series-column/--time-column if those are named differently.{noChannelHint?.Invoke()}");
            }
            if (skipped.Count > 0)
            {
                // Without a time column rows are taken in file order and the date-times are lost: say which flag keeps them.
                string? timeLike = time < 0
                    ? skipped.FirstOrDefault(n => n.Contains("time", StringComparison.OrdinalIgnoreCase) || n.Contains("date", StringComparison.OrdinalIgnoreCase))
                    : null;
                string hint = timeLike is null
                    ? "pass --channels to choose channels explicitly"
                    : $"there is no '{options.TimeColumn}' column, so rows are taken in file order and timestamps are row numbers; if '{timeLike}' holds the time, pass --time-column \"{timeLike}\"";
                ctx.Warnings.Add($"'{file}': ignored columns that are not numeric: {string.Join(", ", skipped)} ({hint}).");
            }
            if (unnamed.Count > 0)
            {
                string which = string.Join(", ", unnamed.Select(c => $"unnamed column {c}"));
                ctx.Warnings.Add(unnamed.Count == 1
                    ? $"'{file}': ignored {which}: its header cell is empty. Give it a name in the header to use it as a channel."
                    : $"'{file}': ignored {which}: their header cells are empty. Give them names in the header to use them as channels.");
            }
            channels = picked.ToArray();
        }
        if (ctx.ChannelNames is null)
        {
            ctx.ChannelNames = channels.Select(i => names[i]).ToArray();
        }

        // Every file must agree on whether there is a time column.
        var mode = ctx.TimeMode;
        if (time < 0 && mode is TimeMode.Integer or TimeMode.DateTime)
        {
            throw new SparkAnomalyException(
                $"'{file}' has no time column '{ctx.TimeColumnName}' but earlier files have one (found: {string.Join(", ", names)}). Give every file the same columns.");
        }
        if (time >= 0 && mode == TimeMode.Steps)
        {
            throw new SparkAnomalyException(
                $"'{file}' has a time column '{names[time]}' but earlier files have none. Give every file the same columns.");
        }
        if (time < 0)
        {
            ctx.TimeMode = TimeMode.Steps;
        }
        else
        {
            ctx.TimeColumnName = names[time];
        }
        ctx.HasLabelColumn |= label >= 0;
        ctx.HasSplitColumn |= split >= 0;
        return new ColumnMap(channels) { Series = series, Time = time, Label = label, Split = split };
    }

    /// <summary>
    /// The columns <see cref="ReadOptions.ExcludeChannels"/> names, by index. A name that is not a column, or that is
    /// the series, time, label or split column, is refused naming the columns that would be channels.
    /// </summary>
    private static HashSet<int> Excluded(string file, IReadOnlyList<string> names, ReadOptions options, HashSet<int> roles, int series, int time, int label, int split, Func<int, bool> candidate)
    {
        var result = new HashSet<int>();
        if (options.ExcludeChannels is null)
        {
            return result;
        }
        string Channels() => string.Join(", ", Enumerable.Range(0, names.Count).Where(candidate).Select(i => $"'{names[i]}'"));
        foreach (string name in options.ExcludeChannels)
        {
            int i = Find(file, names, name);
            if (i < 0)
            {
                throw new SparkAnomalyException(
                    $"'{file}': --exclude-channels names '{name}', which is not a column. The channels to choose from are {Channels()} (all columns: {string.Join(", ", names)}). Pass names from these, exactly as written, with quotes around a name that has spaces.");
            }
            if (roles.Contains(i))
            {
                string role = i == series ? "series" : i == time ? "time" : i == label ? "label" : "split";
                throw new SparkAnomalyException(
                    $"'{file}': --exclude-channels names '{names[i]}', the {role} column, which is never a channel. Leave it out of --exclude-channels; the channels to choose from are {Channels()}.");
            }
            result.Add(i);
        }
        return result;
    }

    private static int Optional(string file, IReadOnlyList<string> names, string? wanted, string defaultName, string flag)
    {
        if (wanted is null)
        {
            return -1;
        }
        int i = Find(file, names, wanted);
        if (i < 0 && wanted != defaultName)
        {
            throw new SparkAnomalyException(
                $"'{file}' has no column '{wanted}' (found: {string.Join(", ", names)}). Pass {flag} with one of these names.");
        }
        return i;
    }

    /// <summary>Exact match first, then a unique case-insensitive match; -1 when absent.</summary>
    public static int Find(string file, IReadOnlyList<string> names, string wanted)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], wanted, StringComparison.Ordinal))
            {
                return i;
            }
        }
        int found = -1;
        for (int i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], wanted, StringComparison.OrdinalIgnoreCase))
            {
                if (found >= 0)
                {
                    throw new SparkAnomalyException(
                        $"'{file}': column name '{wanted}' matches both '{names[found]}' and '{names[i]}' when case is ignored. Pass the exact name.");
                }
                found = i;
            }
        }
        return found;
    }

    private static void CheckDuplicates(string file, IReadOnlyList<string> names)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
        {
            if (!seen.TryAdd(names[i], i))
            {
                throw new SparkAnomalyException(
                    $"'{file}' has two columns named '{names[i]}' (columns {seen[names[i]] + 1} and {i + 1}). Rename one of them so that every column name is unique.");
            }
        }
    }
}
