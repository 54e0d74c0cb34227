namespace SparkAnomaly.Training;

/// <summary>
/// A test hook for crash drills, inert unless <c>SPARKANOMALY_TEST_PAUSE_AT=phase:round</c> is set:
/// when the run reaches that phase of that round it writes the file named by
/// <c>SPARKANOMALY_TEST_PAUSE_MARKER</c> (if set) and sleeps for ever, so a test can SIGKILL the
/// process at exactly that point. Phases: <c>fit</c> (worker 0 inside its task of round r, 0-based),
/// <c>average</c> (the driver after collecting round r, before averaging), <c>checkpoint-write</c>
/// (half of the checkpoint after r completed rounds written and flushed to its temporary file),
/// <c>model-write</c> (training of r rounds done and checkpointed, model.parquet not yet written).
/// </summary>
public static class PausePoint
{
    public const string PauseAtVariable = "SPARKANOMALY_TEST_PAUSE_AT";
    public const string MarkerVariable = "SPARKANOMALY_TEST_PAUSE_MARKER";

    private static readonly string? s_pauseAt = Environment.GetEnvironmentVariable(PauseAtVariable);

    /// <summary>Pauses for ever when <paramref name="phase"/>:<paramref name="round"/> is the configured point; otherwise returns at once.</summary>
    public static void Reached(string phase, int round)
    {
        if (s_pauseAt is null || s_pauseAt != $"{phase}:{round}")
        {
            return;
        }
        if (Environment.GetEnvironmentVariable(MarkerVariable) is { Length: > 0 } marker)
        {
            File.WriteAllText(marker, $"{phase}:{round} {Environment.ProcessId}");
        }
        Thread.Sleep(Timeout.Infinite);
    }
}
