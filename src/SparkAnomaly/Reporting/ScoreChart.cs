using ScottPlot;
using SparkAnomaly.Data;
using SparkAnomaly.Scoring;

namespace SparkAnomaly.Reporting;

/// <summary>
/// One series' anomaly score per time step against the model's threshold: the score line, the
/// threshold as a dashed line, steps above it marked, and labelled anomalous steps (when the data
/// has labels) shaded, so a reader sees at a glance whether alarms fall where the faults are.
/// </summary>
public static class ScoreChart
{
    /// <summary>Renders <paramref name="series"/>' scores against <paramref name="threshold"/> as PNG bytes.</summary>
    /// <param name="series">One element of <c>Detector.Score</c>'s result.</param>
    /// <param name="threshold">The model's threshold (<c>model.Threshold.Value</c>).</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    public static byte[] ToPng(ScoredSeries series, double threshold, int width = 1000, int height = 360)
    {
        ArgumentNullException.ThrowIfNull(series);
        return Build(series, threshold).GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>Writes the chart to <paramref name="path"/> (atomically).</summary>
    public static void Save(ScoredSeries series, double threshold, string path, int width = 1000, int height = 360)
    {
        ArgumentNullException.ThrowIfNull(path);
        Training.AtomicFile.WriteAllBytes(path, ToPng(series, threshold, width, height));
    }

    private static Plot Build(ScoredSeries s, double threshold)
    {
        var plot = new Plot();
        int n = s.Series.Length;
        double[] x = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        if (s.Series.Labels is { } labels)
        {
            // Shade each run of labelled anomalous steps.
            bool first = true;
            for (int i = 0; i < n;)
            {
                if (labels[i] != 1)
                {
                    i++;
                    continue;
                }
                int j = i;
                while (j < n && labels[j] == 1)
                {
                    j++;
                }
                var span = plot.Add.HorizontalSpan(i, j - 1);
                span.FillStyle.Color = Colors.Red.WithAlpha(0.12);
                span.LineStyle.Width = 0;
                if (first)
                {
                    span.LegendText = "labelled anomaly";
                    first = false;
                }
                i = j;
            }
        }
        var score = plot.Add.SignalXY(x, s.Score);
        score.LegendText = "score";
        score.LineWidth = 1;
        score.Color = Colors.C0;
        var line = plot.Add.HorizontalLine(threshold);
        line.LinePattern = LinePattern.Dashed;
        line.LineColor = Colors.Black;
        line.LegendText = "threshold";
        var alarmsX = x.Where((_, i) => s.IsAnomaly[i]).ToArray();
        if (alarmsX.Length > 0)
        {
            var alarms = plot.Add.ScatterPoints(alarmsX, alarmsX.Select(i => s.Score[(int)i]).ToArray());
            alarms.MarkerSize = 3;
            alarms.Color = Colors.OrangeRed;
            alarms.LegendText = "above threshold";
        }
        plot.Title($"{s.Series.Id}: score per step");
        plot.XLabel("step");
        plot.YLabel("score");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }
}
