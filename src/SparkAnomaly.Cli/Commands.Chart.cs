using SparkAnomaly.Reporting;

namespace SparkAnomaly.Cli;

internal static partial class Commands
{
    /// <summary>
    /// training.png beside stats.json. A chart is a convenience: if it cannot be drawn (no usable
    /// SkiaSharp native library on an unusual platform), the run still succeeds, with a warning.
    /// </summary>
    private static void WriteTrainingChart(TrainRun run, OutputDirectory dir, Reporter ui)
    {
        try
        {
            TrainingChart.Save(run.Outcome.Rounds, dir.File(TrainingChart.FileName));
        }
        // A write failure reaches here as the SparkAnomalyException AtomicFile makes of it; it stays a warning, as the IOException it was.
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException or IOException or InvalidOperationException
                                   or SparkAnomalyException { InnerException: IOException or UnauthorizedAccessException })
        {
            ui.Warn($"{TrainingChart.FileName} was not written ({e.GetType().Name}: {e.GetBaseException().Message}); stats.json holds the same numbers.");
        }
    }
}
