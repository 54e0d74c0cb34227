using System.Globalization;

namespace SparkAnomaly.Data.Preprocessing;

/// <summary>
/// Causal removal of slow drift from selected channels, applied to raw values before the normaliser:
/// y[r] = x[r] − mean(x[max(0, r−W)] … x[r−1]), and y[0] = 0. W = 1 is the first difference.
/// </summary>
/// <remarks>
/// <para>Row r depends only on rows 0…r of its own series, so transforming a whole series and then cutting
/// off its test part gives exactly the transform of the training part: nothing is fitted on, or leaks from,
/// later rows. The only "fitted" quantity is the anchor x[0] (the first training row), which makes the map
/// invertible (<see cref="Invert"/>).</para>
/// <para>What it removes: a level that changes slower than W steps. What it costs: a level shift that lasts
/// longer than W steps fades out of the transformed channel after W steps, so it is meant for slow channels
/// (temperatures), not for every sensor.</para>
/// </remarks>
/// <param name="Window">W ≥ 1: how many previous rows the subtracted mean covers.</param>
/// <param name="Channels">Names of the channels to transform; the others pass through unchanged.</param>
public sealed record Detrend(int Window, IReadOnlyList<string> Channels)
{
    /// <summary>
    /// Parses <c>none</c> (null), <c>diff</c> (W = 1) or <c>ma:W</c>; <paramref name="channels"/> names the
    /// transformed channels.
    /// </summary>
    /// <exception cref="SparkAnomalyException">The text is not one of the accepted forms.</exception>
    public static Detrend? Parse(string? text, IReadOnlyList<string> channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        string t = (text ?? "none").Trim().ToLowerInvariant();
        if (t is "" or "none")
        {
            return null;
        }
        if (t is "diff")
        {
            return new Detrend(1, channels);
        }
        var parts = t.Split(':');
        if (parts.Length == 2 && parts[0] == "ma" && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int w) && w >= 1)
        {
            return new Detrend(w, channels);
        }
        throw new SparkAnomalyException($"Detrend '{text}' is not valid; use none, diff (first difference) or ma:W (subtract the causal mean of the previous W rows, W ≥ 1), e.g. ma:60.");
    }

    /// <summary>Text form: diff or ma:W.</summary>
    public override string ToString() => Window == 1 ? "diff" : string.Create(CultureInfo.InvariantCulture, $"ma:{Window}");

    /// <summary>Indices of <see cref="Channels"/> in <paramref name="channelNames"/>.</summary>
    /// <exception cref="SparkAnomalyException">A channel to detrend is not in the data.</exception>
    public int[] ChannelIndices(IReadOnlyList<string> channelNames)
    {
        ArgumentNullException.ThrowIfNull(channelNames);
        return Channels.Select(name =>
        {
            int i = channelNames.ToList().IndexOf(name);
            return i >= 0 ? i : throw new SparkAnomalyException($"detrend channel '{name}' is not in the data; the channels are {string.Join(", ", channelNames)}.");
        }).ToArray();
    }

    /// <summary>A new set whose selected channels are detrended per series; labels, splits and timestamps are kept.</summary>
    public SeriesSet Apply(SeriesSet data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var idx = ChannelIndices(data.ChannelNames);
        var series = data.Series.Select(s => new Series(s.Id, s.Timestamps, Transform(s.Values, s.Channels, idx, Window), s.Channels, s.Labels, s.Splits)).ToList();
        return new SeriesSet(series, data.ChannelNames, data.TimestampKind, data.Source);
    }

    /// <summary>The causal transform of row-major values (a copy; the input is untouched).</summary>
    public static float[] Transform(ReadOnlySpan<float> rowMajor, int channels, IReadOnlyList<int> channelIndices, int window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentNullException.ThrowIfNull(channelIndices);
        var y = rowMajor.ToArray();
        int n = rowMajor.Length / channels;
        foreach (int c in channelIndices)
        {
            double sum = 0;   // sum of x[max(0, r−W)] … x[r−1]
            for (int r = 0; r < n; r++)
            {
                double x = rowMajor[r * channels + c];
                int count = Math.Min(r, window);
                y[r * channels + c] = r == 0 ? 0f : (float)(x - sum / count);
                sum += x;
                if (r - window >= 0)
                {
                    sum -= rowMajor[(r - window) * channels + c];
                }
            }
        }
        return y;
    }

    /// <summary>
    /// Inverse of <see cref="Transform"/> given the anchor (each channel's first raw value, row-major width
    /// <paramref name="channels"/>): reconstructs the raw values row by row from the transformed ones.
    /// </summary>
    public static double[] Invert(ReadOnlySpan<float> transformed, ReadOnlySpan<float> firstRow, int channels, IReadOnlyList<int> channelIndices, int window)
    {
        ArgumentNullException.ThrowIfNull(channelIndices);
        var x = new double[transformed.Length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = transformed[i];
        }
        int n = transformed.Length / channels;
        foreach (int c in channelIndices)
        {
            double sum = 0;
            for (int r = 0; r < n; r++)
            {
                int count = Math.Min(r, window);
                x[r * channels + c] = r == 0 ? firstRow[c] : transformed[r * channels + c] + sum / count;
                sum += x[r * channels + c];
                if (r - window >= 0)
                {
                    sum -= x[(r - window) * channels + c];
                }
            }
        }
        return x;
    }
}
