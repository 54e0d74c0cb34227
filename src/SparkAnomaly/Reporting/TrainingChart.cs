using ScottPlot;
using SparkAnomaly.Training;

namespace SparkAnomaly.Reporting;

/// <summary>
/// <c>training.png</c>: the run's statistics as two stacked panels sharing the round axis — loss per
/// round (mean over the round's minibatches, and its reconstruction part) on top, and each round's
/// time split into its phases (broadcast, fit, collect, average, checkpoint) as stacked bars below.
/// What DL4J's <c>collectTrainingStats</c> HTML showed, as one picture for a pipeline's artefacts.
/// </summary>
public static class TrainingChart
{
    /// <summary>The file name <c>train</c> and <c>demo</c> write beside <c>stats.json</c>.</summary>
    public const string FileName = "training.png";

    /// <summary>Phase names in stacking order (bottom first), as they appear in <c>stats.json</c>.</summary>
    public static IReadOnlyList<string> Phases { get; } = new[] { "fit", "broadcast", "collect", "average", "checkpoint" };

    /// <summary>Renders the chart of <paramref name="rounds"/> as PNG bytes.</summary>
    /// <param name="rounds">Per-round statistics, e.g. <c>TrainRun.Outcome.Rounds</c>; an empty list gives empty axes.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    public static byte[] ToPng(IReadOnlyList<RoundStats> rounds, int width = 1000, int height = 720)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        using var image = Build(rounds).Render(width, height);
        return image.GetImageBytes(ImageFormat.Png);
    }

    /// <summary>Writes the chart of <paramref name="rounds"/> to <paramref name="path"/> (atomically).</summary>
    public static void Save(IReadOnlyList<RoundStats> rounds, string path, int width = 1000, int height = 720)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.WriteAllBytes(path, ToPng(rounds, width, height));
    }

    private static Multiplot Build(IReadOnlyList<RoundStats> rounds)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        var lossPlot = multiplot.GetPlot(0);
        var timePlot = multiplot.GetPlot(1);
        double[] x = rounds.Select(r => (double)(r.Round + 1)).ToArray();

        var loss = lossPlot.Add.Scatter(x, rounds.Select(r => Finite(r.Loss)).ToArray());
        loss.LegendText = "loss (mean over the round)";
        loss.LineWidth = 2;
        loss.MarkerSize = rounds.Count <= 60 ? 4 : 0;
        var recon = lossPlot.Add.Scatter(x, rounds.Select(r => Finite(r.Reconstruction)).ToArray());
        recon.LegendText = "reconstruction";
        recon.LinePattern = LinePattern.Dashed;
        recon.MarkerSize = 0;
        lossPlot.Title("Training loss per round");
        lossPlot.YLabel("loss");
        lossPlot.ShowLegend(Alignment.UpperRight);

        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<Bar>();
        for (int i = 0; i < rounds.Count; i++)
        {
            var r = rounds[i];
            double[] phases = { r.FitMs, r.BroadcastMs, r.CollectMs, r.AverageMs, r.CheckpointMs };
            double bottom = 0;
            for (int p = 0; p < phases.Length; p++)
            {
                double top = bottom + Math.Max(0, Finite(phases[p]));
                bars.Add(new Bar { Position = x[i], ValueBase = bottom, Value = top, FillColor = palette.GetColor(p), LineWidth = 0 });
                bottom = top;
            }
        }
        timePlot.Add.Bars(bars);
        for (int p = 0; p < Phases.Count; p++)
        {
            timePlot.Legend.ManualItems.Add(new LegendItem { LabelText = Phases[p], FillColor = palette.GetColor(p) });
        }
        timePlot.Title("Round time by phase");
        timePlot.XLabel("round");
        timePlot.YLabel("ms");
        timePlot.ShowLegend(Alignment.UpperRight);
        timePlot.Axes.Margins(bottom: 0, top: 0.3);
        double first = x.Length > 0 ? x[0] : 1, last = x.Length > 0 ? x[^1] : 1;
        foreach (var plot in new[] { lossPlot, timePlot })
        {
            plot.Axes.SetLimitsX(first - 0.6, last + 0.6);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        }
        return multiplot;
    }

    private static double Finite(double v) => double.IsFinite(v) ? v : double.NaN;
}
