using System.Globalization;
using System.Text;
using SparkAnomaly.Training;

namespace SparkAnomaly.Data;

/// <summary>Writes a <see cref="SeriesSet"/> in the long CSV format the readers take back.</summary>
public static class SeriesWriter
{
    /// <summary><c>series_id, timestamp, &lt;channels…&gt;, label, split</c>; written atomically.</summary>
    public static void WriteCsv(SeriesSet data, string path)
    {
        ArgumentNullException.ThrowIfNull(data);
        AtomicFile.Write(path, stream =>
        {
            using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            w.WriteLine(string.Join(",", new[] { "series_id", "timestamp" }.Concat(data.ChannelNames.Select(Quote)).Concat(new[] { "label", "split" })));
            var sb = new StringBuilder();
            foreach (var s in data.Series)
            {
                for (int r = 0; r < s.Length; r++)
                {
                    sb.Clear();
                    sb.Append(Quote(s.Id)).Append(',').Append(FormatTime(s.Timestamps[r], data.TimestampKind));
                    foreach (float v in s.Rows(r, 1))
                    {
                        sb.Append(',').Append(v.ToString("R", CultureInfo.InvariantCulture));
                    }
                    sb.Append(',');
                    if (s.Labels is { } l && l[r] != Series.NoLabel)
                    {
                        sb.Append(l[r]);
                    }
                    sb.Append(',').Append(s.Splits?[r] switch { RowSplit.Train => "train", RowSplit.Test => "test", _ => "" });
                    w.WriteLine(sb);
                }
            }
        });
    }

    private static string FormatTime(long t, TimestampKind kind) => kind == TimestampKind.DateTime
        ? DateTime.UnixEpoch.AddTicks(t * 10).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)
        : t.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string s) => s.IndexOfAny(new[] { ',', '"', '\n', '\r' }) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
