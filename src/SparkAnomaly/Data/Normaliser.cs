namespace SparkAnomaly.Data;

/// <summary>How each channel is scaled before it reaches the model.</summary>
public enum NormalisationKind
{
    /// <summary>(x - mean) / std per channel.</summary>
    ZScore,

    /// <summary>(x - min) / (max - min) per channel.</summary>
    MinMax,
}

/// <summary>
/// Per-channel affine scaling, fitted on trainable rows only and stored in the model file, so that
/// scoring applies exactly what training saw. Constant channels get scale 1 (no division by zero).
/// </summary>
public sealed record Normaliser(NormalisationKind Kind, string[] Channels, float[] Offset, float[] Scale)
{
    /// <summary>Fits on every row that may be trained on (<see cref="Series.IsTrainable"/>).</summary>
    public static Normaliser Fit(SeriesSet data, NormalisationKind kind = NormalisationKind.ZScore)
    {
        ArgumentNullException.ThrowIfNull(data);
        int f = data.Channels;
        var count = 0L;
        var sum = new double[f];
        var sumSq = new double[f];
        var min = Enumerable.Repeat(double.PositiveInfinity, f).ToArray();
        var max = Enumerable.Repeat(double.NegativeInfinity, f).ToArray();
        foreach (var s in data.Series)
        {
            for (int r = 0; r < s.Length; r++)
            {
                if (!s.IsTrainable(r))
                {
                    continue;
                }
                count++;
                var row = s.Rows(r, 1);
                for (int c = 0; c < f; c++)
                {
                    double v = row[c];
                    sum[c] += v;
                    sumSq[c] += v * v;
                    min[c] = Math.Min(min[c], v);
                    max[c] = Math.Max(max[c], v);
                }
            }
        }
        if (count == 0)
        {
            throw new SparkAnomalyException($"'{data.Source}' has no trainable rows (every row has split=test): nothing to fit the normaliser on. Mark some rows split=train or leave the split column empty.");
        }
        return FromStatistics(kind, data.ChannelNames.ToArray(), count, sum, sumSq, min, max);
    }

    /// <summary>
    /// Builds the normaliser from per-channel totals over the trainable rows, as an engine computes them
    /// in one aggregation (Spark: count, sum, sum of squares, min, max). <see cref="Fit"/> uses the same rule.
    /// </summary>
    public static Normaliser FromStatistics(NormalisationKind kind, string[] channels, long count, double[] sum, double[] sumOfSquares, double[] min, double[] max)
    {
        ArgumentNullException.ThrowIfNull(channels);
        int f = channels.Length;
        if (sum.Length != f || sumOfSquares.Length != f || min.Length != f || max.Length != f)
        {
            throw new ArgumentException("one statistic per channel is required");
        }
        if (count <= 0)
        {
            throw new SparkAnomalyException("there are no trainable rows (every row has split=test): nothing to fit the normaliser on. Mark some rows split=train or leave the split column empty.");
        }
        var offset = new float[f];
        var scale = new float[f];
        for (int c = 0; c < f; c++)
        {
            double spread;
            if (kind == NormalisationKind.ZScore)
            {
                double mean = sum[c] / count;
                offset[c] = (float)mean;
                spread = Math.Sqrt(Math.Max(0, sumOfSquares[c] / count - mean * mean));
            }
            else
            {
                offset[c] = (float)min[c];
                spread = max[c] - min[c];
            }
            // A constant channel carries no information in training; scale 1 keeps it finite at scoring.
            scale[c] = spread > 1e-12 * Math.Max(1, Math.Abs(offset[c])) ? (float)spread : 1f;
        }
        return new Normaliser(kind, channels, offset, scale);
    }

    /// <summary>Scales row-major values in place.</summary>
    public void ApplyInPlace(Span<float> rowMajor)
    {
        int f = Offset.Length;
        if (f == 0)
        {
            return;
        }
        var offset = Offset;
        var scale = Scale;
        int rows = rowMajor.Length / f;
        for (int r = 0; r < rows; r++)
        {
            var row = rowMajor.Slice(r * f, f);
            for (int c = 0; c < row.Length; c++)
            {
                row[c] = (row[c] - offset[c]) / scale[c];
            }
        }
        for (int i = rows * f; i < rowMajor.Length; i++)
        {
            int c = i % f;
            rowMajor[i] = (rowMajor[i] - offset[c]) / scale[c];
        }
    }

    /// <summary>Share of a channel's training variance above which one value is reported as setting its scale alone.</summary>
    public const double DominantShare = 0.5;

    /// <summary>
    /// One warning per channel where a single trainable value holds at least <see cref="DominantShare"/> of the
    /// channel's sum of squared deviations (only with 100 or more trainable rows, where that takes a value far
    /// outside the rest): the scale is then set by that value, every other value normalises to about 0, and the
    /// model learns nothing from the channel. Such a value is usually a sensor glitch or a unit error, which the
    /// reader cannot tell from data, so this warns rather than refuses.
    /// Also one warning per channel that is constant on every trainable row (two or more rows): the model learns
    /// nothing from it, and any other value at scoring time raises the score. Such a channel is often a label or
    /// flag column picked up as a channel (SKAB's <c>anomaly</c> and <c>changepoint</c>).
    /// </summary>
    public static IReadOnlyList<string> ScaleWarnings(SeriesSet data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int f = data.Channels;
        long count = 0;
        var sum = new double[f];
        foreach (var s in data.Series)
        {
            for (int r = 0; r < s.Length; r++)
            {
                if (s.IsTrainable(r))
                {
                    count++;
                    var row = s.Rows(r, 1);
                    for (int c = 0; c < f; c++)
                    {
                        sum[c] += row[c];
                    }
                }
            }
        }
        if (count < 2)
        {
            return Array.Empty<string>();
        }
        var mean = sum.Select(v => v / count).ToArray();
        var total = new double[f];
        var largest = new double[f];
        var where = new (string Series, long Timestamp, float Value)[f];
        var first = new float[f];
        var constant = Enumerable.Repeat(true, f).ToArray();
        bool seen = false;
        foreach (var s in data.Series)
        {
            for (int r = 0; r < s.Length; r++)
            {
                if (!s.IsTrainable(r))
                {
                    continue;
                }
                var row = s.Rows(r, 1);
                if (!seen)
                {
                    row.CopyTo(first);
                    seen = true;
                }
                for (int c = 0; c < f; c++)
                {
                    constant[c] &= row[c].Equals(first[c]);
                    double d = (row[c] - mean[c]) * (row[c] - mean[c]);
                    total[c] += d;
                    if (d > largest[c])
                    {
                        largest[c] = d;
                        where[c] = (s.Id, s.Timestamps[r], row[c]);
                    }
                }
            }
        }
        var warnings = new List<string>();
        for (int c = 0; c < f; c++)
        {
            if (constant[c])
            {
                warnings.Add(FormattableString.Invariant(
                    $"channel {data.ChannelNames[c]} is {first[c]:G6} on every training row, so the model learns nothing from it and any other value at scoring time raises the score. If it is a label or flag column (e.g. anomaly, changepoint), leave it out: --channels with the sensor columns only, or --label-column {data.ChannelNames[c]}."));
            }
            else if (count >= 100 && total[c] > 0 && largest[c] >= DominantShare * total[c])
            {
                warnings.Add(FormattableString.Invariant(
                    $"channel {data.ChannelNames[c]}: one training value ({where[c].Value:G6} in series {where[c].Series} at timestamp {where[c].Timestamp}) holds {largest[c] / total[c]:P0} of the channel's variance, so it sets the channel's scale and the model learns almost nothing from its other values. If it is a glitch, fix or drop that row (or mark it split=test)."));
            }
        }
        return warnings;
    }

    /// <summary>How far (in training scales) a channel's mean on new data may lie from training before <see cref="ShiftWarnings"/> names it.</summary>
    public const double ShiftLimit = 10;

    /// <summary>
    /// One warning per channel whose mean over the raw (not yet normalised) <paramref name="data"/> lies more than
    /// <see cref="ShiftLimit"/> training scales from the training centre (the z-score mean, or the middle of the
    /// min-max range): data from another operating point, or in other units, than the model was trained on. Such data
    /// is flagged nearly everywhere, and a user who sees only "every step flagged" cannot tell why.
    /// </summary>
    public IReadOnlyList<string> ShiftWarnings(SeriesSet data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckChannels(data);
        int f = Channels.Length;
        var sum = new double[f];
        long count = 0;
        foreach (var s in data.Series)
        {
            for (int r = 0; r < s.Length; r++)
            {
                var row = s.Rows(r, 1);
                for (int c = 0; c < f; c++)
                {
                    sum[c] += row[c];
                }
            }
            count += s.Length;
        }
        var warnings = new List<string>();
        if (count == 0)
        {
            return warnings;
        }
        for (int c = 0; c < f; c++)
        {
            double mean = sum[c] / count;
            double centre = Kind == NormalisationKind.ZScore ? Offset[c] : Offset[c] + Scale[c] / 2.0;
            double distance = Math.Abs(mean - centre) / Scale[c];
            if (distance > ShiftLimit)
            {
                warnings.Add(FormattableString.Invariant(
                    $"channel {Channels[c]}: its mean in '{data.Source}' ({mean:G6}) is {distance:F0} training scales from its training {(Kind == NormalisationKind.ZScore ? "mean" : "range's middle")} ({centre:G6}, scale {Scale[c]:G6}), so most steps will be flagged. Check the channel's units and that this data comes from the operating conditions the model was trained on; if not, train on data from them."));
            }
        }
        return warnings;
    }

    /// <summary>A new set with normalised copies of the values; the input is left untouched.</summary>
    public SeriesSet Apply(SeriesSet data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckChannels(data);
        var series = data.Series.Select(s =>
        {
            var values = (float[])s.Values.Clone();
            ApplyInPlace(values);
            return new Series(s.Id, s.Timestamps, values, s.Channels, s.Labels, s.Splits);
        }).ToList();
        return new SeriesSet(series, data.ChannelNames, data.TimestampKind, data.Source);
    }

    /// <summary>
    /// Normalises every series of <paramref name="data"/> in place and returns it: no copy of the values,
    /// for callers that do not need the raw values afterwards (the data benchmark; a load-then-train
    /// pipeline that keeps only the normalised set). Same values, bit for bit, as <see cref="Apply"/>.
    /// </summary>
    public SeriesSet ApplyInPlace(SeriesSet data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckChannels(data);
        foreach (var s in data.Series)
        {
            ApplyInPlace(s.Values);
        }
        return data;
    }

    private void CheckChannels(SeriesSet data)
    {
        if (data.Channels != Channels.Length || !data.ChannelNames.SequenceEqual(Channels))
        {
            throw new SparkAnomalyException(
                $"'{data.Source}' has channels [{string.Join(", ", data.ChannelNames)}] but the model was trained on [{string.Join(", ", Channels)}]. Select the same channels (--channels) in the same order.");
        }
    }
}
