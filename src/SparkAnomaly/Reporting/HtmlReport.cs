using System.Globalization;
using System.Net;
using System.Text;
using ScottPlot;
using SparkAnomaly.Evaluation;

namespace SparkAnomaly.Reporting;

/// <summary>One series as the report draws it; every array is aligned row by row.</summary>
/// <param name="Id">Series id (the figure caption).</param>
/// <param name="Score">Per-row anomaly score.</param>
/// <param name="Threshold">Per-row threshold (a constant line for a global threshold).</param>
/// <param name="Actual">True labels (rows outside <paramref name="Labelled"/> are ignored).</param>
/// <param name="Labelled">Rows that were evaluated (labelled, test rows).</param>
/// <param name="Detected">Alarms after thresholding and any filtering.</param>
/// <param name="Signal">A few channels to draw above the score (raw values, or contributions when no signal is at hand), with a caption.</param>
/// <param name="SignalCaption">What <paramref name="Signal"/> shows, e.g. "signal (z-scored)".</param>
public sealed record ReportSeries(
    string Id, double[] Score, double[] Threshold, bool[] Actual, bool[] Labelled, bool[] Detected,
    IReadOnlyList<(string Name, double[] Values)> Signal, string SignalCaption);

/// <summary>A row of a comparison table shown beside our metrics (e.g. SKAB's published leaderboard).</summary>
public sealed record ComparisonRow(string Name, double F1, double Far, double Mar, bool Highlight = false);

/// <summary>Everything a report shows.</summary>
public sealed record ReportContent(
    string Title, EvaluationReport Evaluation, IReadOnlyList<ReportSeries> Series,
    IReadOnlyList<string>? Notes = null, IReadOnlyList<ComparisonRow>? Comparison = null);

/// <summary>
/// A self-contained <c>report.html</c>: no external URL anywhere, so it opens offline and can be mailed;
/// charts (ScottPlot) are PNGs embedded as base64 data URIs. Per series: signal, score, threshold, labelled
/// events and detections; then pooled ROC and PR curves and the metrics table. Metric cells carry a
/// <c>data-metric</c> attribute so tools (and the tests) can read them back.
/// </summary>
public static class HtmlReport
{
    /// <summary>Chart size in pixels; wide enough to show a thousand steps.</summary>
    public const int ChartWidth = 1000;

    /// <summary>Channels drawn per series at most: more lines make the panel unreadable.</summary>
    public const int MaxSignalChannels = 4;

    /// <summary>Digits shown for ratios; the tests compare at this precision.</summary>
    public const string RatioFormat = "F4";

    /// <summary>
    /// Writes the report atomically (a partial file never appears under the final name). Through
    /// <see cref="Training.AtomicFile"/>: its temporary name is unique, so it cannot clobber a user's
    /// <c>NAME.tmp</c>, and a write the system refuses is a <see cref="SparkAnomalyException"/> naming the file.
    /// </summary>
    public static void Save(string path, ReportContent content)
    {
        ArgumentNullException.ThrowIfNull(path);
        string html = Render(content);
        Training.AtomicFile.WriteAllBytes(path, new UTF8Encoding(false).GetBytes(html));
    }

    /// <summary>The report as one HTML string.</summary>
    public static string Render(ReportContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var r = content.Evaluation;
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(content.Title)).Append("</title>\n<style>")
          .Append("body{font-family:system-ui,sans-serif;margin:2em;max-width:1050px}table{border-collapse:collapse;margin:1em 0}")
          .Append("td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}")
          .Append("tr.ours{background:#fff4d6;font-weight:bold}figure{margin:1.5em 0}img{max-width:100%}.note{color:#555}")
          .Append("</style></head><body>\n<h1>").Append(E(content.Title)).Append("</h1>\n");
        foreach (var note in content.Notes ?? Array.Empty<string>())
        {
            sb.Append("<p class=\"note\">").Append(E(note)).Append("</p>\n");
        }

        sb.Append("<h2>Metrics</h2>\n<table class=\"metrics\"><tr><th>metric</th><th>value</th></tr>\n");
        var pw = r.PointWise;
        Row(sb, "series", "series", r.SeriesCount.ToString(CultureInfo.InvariantCulture));
        Row(sb, "point-wise precision", "precision", F(pw.Precision));
        Row(sb, "point-wise recall", "recall", F(pw.Recall));
        Row(sb, "point-wise F1 (primary; SKAB: TP/(TP+(FN+FP)/2))", "f1", F(r.F1));
        Row(sb, "FAR % (FP/(FP+TN)·100)", "far", F(r.Far));
        Row(sb, "MAR % (FN/(FN+TP)·100)", "mar", F(r.Mar));
        Row(sb, "TP / FP / FN / TN", "counts", $"{pw.TP} / {pw.FP} / {pw.FN} / {pw.TN}");
        Row(sb, "point-ADJUSTED F1 (optimistic; not comparable with point-wise)", "pointAdjustedF1", F(r.PointAdjustedF1));
        Row(sb, "event-wise F1 (range overlap)", "eventF1", F(r.EventF1));
        Row(sb, "events detected / true events", "events", $"{r.Events.DetectedEvents} / {r.Events.TrueEvents}");
        Row(sb, "ROC-AUC", "rocAuc", r.RocAuc is double roc ? F(roc) : "n/a");
        Row(sb, "PR-AUC (average precision)", "prAuc", r.PrAuc is double pr ? F(pr) : "n/a");
        Row(sb, "time to detect, mean steps", "meanTimeToDetect", r.MeanTimeToDetect is double m ? m.ToString("F1", CultureInfo.InvariantCulture) : "n/a");
        Row(sb, "time to detect, median steps", "medianTimeToDetect", r.MedianTimeToDetect is double md ? md.ToString("F1", CultureInfo.InvariantCulture) : "n/a");
        sb.Append("</table>\n");

        if (content.Comparison is { Count: > 0 } comparison)
        {
            sb.Append("<h2>Leaderboard</h2>\n<table class=\"leaderboard\"><tr><th>algorithm</th><th>F1</th><th>FAR %</th><th>MAR %</th></tr>\n");
            foreach (var c in comparison)
            {
                sb.Append(c.Highlight ? "<tr class=\"ours\">" : "<tr>").Append("<td>").Append(E(c.Name)).Append("</td><td>")
                  .Append(c.F1.ToString("F2", CultureInfo.InvariantCulture)).Append("</td><td>")
                  .Append(c.Far.ToString("F2", CultureInfo.InvariantCulture)).Append("</td><td>")
                  .Append(c.Mar.ToString("F2", CultureInfo.InvariantCulture)).Append("</td></tr>\n");
            }
            sb.Append("</table>\n");
        }

        sb.Append("<h2>ROC and precision–recall (all evaluated rows pooled)</h2>\n");
        var (scores, actual, labelled) = Pool(content.Series);
        var (fpr, tpr) = Curves.Roc(scores, actual, labelled);
        var (rec, prec) = Curves.PrecisionRecall(scores, actual, labelled);
        Figure(sb, "roc", "ROC curve", CurveChart("ROC", "false positive rate", "true positive rate", fpr, tpr, diagonal: true));
        Figure(sb, "pr", "Precision–recall curve", CurveChart("Precision–recall", "recall", "precision", rec, prec, diagonal: false));

        sb.Append("<h2>Series</h2>\n<p class=\"note\">Red bands: labelled anomalies. Orange dots: alarms. Dashed line: threshold. Grey: rows not evaluated (training period or unlabelled).</p>\n");
        foreach (var s in content.Series)
        {
            Figure(sb, "series", s.Id, SeriesChart(s));
        }
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    private static string F(double v) => v.ToString(RatioFormat, CultureInfo.InvariantCulture);

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static void Row(StringBuilder sb, string name, string key, string value) =>
        sb.Append("<tr><td>").Append(E(name)).Append("</td><td data-metric=\"").Append(key).Append("\">").Append(E(value)).Append("</td></tr>\n");

    private static void Figure(StringBuilder sb, string cssClass, string caption, byte[] png) =>
        sb.Append("<figure class=\"").Append(cssClass).Append("\"><img alt=\"").Append(E(caption)).Append("\" src=\"data:image/png;base64,")
          .Append(Convert.ToBase64String(png)).Append("\"><figcaption>").Append(E(caption)).Append("</figcaption></figure>\n");

    private static (double[] Scores, bool[] Actual, bool[] Labelled) Pool(IReadOnlyList<ReportSeries> series)
    {
        var scores = series.SelectMany(s => s.Score).ToArray();
        var actual = series.SelectMany(s => s.Actual).ToArray();
        var labelled = series.SelectMany(s => s.Labelled).ToArray();
        return (scores, actual, labelled);
    }

    private static byte[] CurveChart(string title, string x, string y, double[] xs, double[] ys, bool diagonal)
    {
        var plt = new Plot();
        if (xs.Length > 0)
        {
            var line = plt.Add.ScatterLine(xs, ys);
            line.LineWidth = 2;
        }
        else
        {
            plt.Add.Text("undefined: one class only", 0.3, 0.5);
        }
        if (diagonal)
        {
            var d = plt.Add.Line(0, 0, 1, 1);
            d.LinePattern = LinePattern.Dashed;
            d.Color = Colors.Gray;
        }
        plt.Title(title);
        plt.XLabel(x);
        plt.YLabel(y);
        plt.Axes.SetLimits(0, 1, 0, 1.02);
        return plt.GetImageBytes(480, 400, ImageFormat.Png);
    }

    private static byte[] SeriesChart(ReportSeries s)
    {
        int n = s.Score.Length;
        var xs = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        var mp = new Multiplot();
        mp.AddPlots(2);
        var top = mp.GetPlot(0);
        var bottom = mp.GetPlot(1);
        foreach (var (name, values) in s.Signal.Take(MaxSignalChannels))
        {
            var line = top.Add.ScatterLine(xs, values);
            line.LegendText = name;
            line.LineWidth = 1;
        }
        top.Title(s.Id);
        top.YLabel(s.SignalCaption);
        top.ShowLegend(Alignment.UpperLeft);

        var score = bottom.Add.ScatterLine(xs, s.Score);
        score.LegendText = "score";
        score.Color = Colors.Black;
        var threshold = bottom.Add.ScatterLine(xs, s.Threshold);
        threshold.LegendText = "threshold";
        threshold.LinePattern = LinePattern.Dashed;
        threshold.Color = Colors.Blue;
        var alarmX = xs.Where((_, i) => s.Detected[i]).ToArray();
        if (alarmX.Length > 0)
        {
            double low = s.Score.Where(double.IsFinite).DefaultIfEmpty(0).Min();
            var marks = bottom.Add.Markers(alarmX, alarmX.Select(_ => low).ToArray(), MarkerShape.FilledCircle, 3, Colors.Orange);
            marks.LegendText = "alarm";
        }
        bottom.YLabel("score");
        bottom.XLabel("step");
        bottom.ShowLegend(Alignment.UpperLeft);

        foreach (var p in new[] { top, bottom })
        {
            foreach (var (a, b) in Metrics.Segments(s.Actual.Select((v, i) => v && s.Labelled[i]).ToArray()))
            {
                var span = p.Add.HorizontalSpan(a, b - 1);
                span.FillColor = Colors.Red.WithAlpha(0.15);
                span.LineColor = Colors.Transparent;
            }
            foreach (var (a, b) in Metrics.Segments(s.Labelled.Select(v => !v).ToArray()))
            {
                var span = p.Add.HorizontalSpan(a, b - 1);
                span.FillColor = Colors.Gray.WithAlpha(0.15);
                span.LineColor = Colors.Transparent;
            }
            p.Axes.SetLimitsX(0, Math.Max(1, n - 1));
        }
        return mp.Render(ChartWidth, 520).GetImageBytes(ImageFormat.Png, 100);
    }
}
