using SparkAnomaly.Scoring;

namespace SparkAnomaly.Reporting;

/// <summary>
/// One call per picture, for notebooks and programs. Each returns PNG bytes (in a .NET Interactive
/// notebook: <c>display(HTML($"&lt;img src='data:image/png;base64,{Convert.ToBase64String(png)}'/&gt;"))</c>)
/// and, given a path, also writes the file.
/// </summary>
public static class Charts
{
    /// <summary>Loss and phase time per round of a finished run (what <c>training.png</c> shows).</summary>
    public static byte[] TrainingPng(TrainRun run, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        var png = TrainingChart.ToPng(run.Outcome.Rounds);
        Write(path, png);
        return png;
    }

    /// <summary>One series' score per step against the threshold of <paramref name="model"/>.</summary>
    public static byte[] ScoresPng(ScoredSeries series, TrainedModel model, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return ScoresPng(series, model.Threshold.Value, path);
    }

    /// <summary>One series' score per step against <paramref name="threshold"/>.</summary>
    public static byte[] ScoresPng(ScoredSeries series, double threshold, string? path = null)
    {
        var png = ScoreChart.ToPng(series, threshold);
        Write(path, png);
        return png;
    }

    private static void Write(string? path, byte[] png)
    {
        if (path is not null)
        {
            Training.AtomicFile.WriteAllBytes(path, png);
        }
    }
}
