using System.Text.Json;

namespace SparkAnomaly.Training;

/// <summary><c>stats.json</c>: the run's summary and per-round, per-phase statistics.</summary>
public static class StatsFile
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Save(string path, TrainRun run, TrainingConfig config)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(config);
        var rounds = run.Outcome.Rounds;
        var doc = new
        {
            formatVersion = 1,
            library = run.Model.Provenance.LibraryVersion,
            modelId = run.Model.ModelId,
            seconds = run.Seconds,
            totalRounds = run.Outcome.TotalRounds,
            resumedFromRound = run.Outcome.ResumedFromRound,
            trainingWindows = run.TrainingWindows,
            shardPlan = run.ShardPlan,
            phaseTotalsMs = new
            {
                broadcast = rounds.Sum(r => r.BroadcastMs),
                fit = rounds.Sum(r => r.FitMs),
                collect = rounds.Sum(r => r.CollectMs),
                average = rounds.Sum(r => r.AverageMs),
                checkpoint = rounds.Sum(r => r.CheckpointMs),
            },
            config = JsonDocument.Parse(config.ToJson()).RootElement,
            threshold = run.Model.Threshold,
            rounds = rounds.Select(r => new
            {
                r.Round, r.Loss, r.LastLoss, r.Reconstruction, r.Kl, r.KlWeight, r.Windows,
                r.BroadcastMs, r.FitMs, r.CollectMs, r.AverageMs, r.CheckpointMs, r.OverheadShare,
                r.WorkerWindowsPerSecond, r.WorkerFitMs, r.Retries, r.DuplicatesIgnored,
            }),
        };
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(doc, s_json));
    }
}
