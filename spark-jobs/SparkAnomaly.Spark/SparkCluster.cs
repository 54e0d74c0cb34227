using Microsoft.Spark;
using Microsoft.Spark.Sql;
using SparkAnomaly.Training;

namespace SparkAnomaly.Spark;

/// <summary>
/// <see cref="ITrainingCluster"/> on Spark: one grouped-map task per worker shard per round. The
/// round's requests travel as one <c>Broadcast&lt;byte[]&gt;</c> (<see cref="RoundBundle"/>); each task
/// picks its own, runs <see cref="TrainingWorker"/> and returns its result bytes in one row, which
/// the driver collects. Averaging, checkpoints and retries of failed tasks stay with the master in
/// src/. Spark retries failing tasks itself (spark.task.maxFailures); only when a round's Spark job
/// fails after those does the round report failed outcomes.
/// </summary>
public sealed class SparkCluster : ITrainingCluster
{
    private readonly SparkSession _spark;
    private readonly DataFrame _shards;
    private readonly int _workers;
    private readonly int _windowLength;
    private readonly int _stride;
    private readonly Action<string> _log;

    /// <param name="shards">Rows in <see cref="SparkSchemas.TrainInputColumns"/> layout, partitioned by shard and cached; the cluster unpersists it on dispose.</param>
    public SparkCluster(SparkSession spark, DataFrame shards, int workers, int windowLength, int stride, Action<string> log)
    {
        _spark = spark;
        _shards = shards;
        _workers = workers;
        _windowLength = windowLength;
        _stride = stride;
        _log = log;
    }

    public int Workers => _workers;

    public IReadOnlyList<TaskOutcome> RunRound(int round, IReadOnlyList<WorkerTask> tasks, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (tasks.Count == 0)
        {
            return System.Array.Empty<TaskOutcome>();
        }
        int[] workers = tasks.Select(t => t.Worker).Distinct().Order().ToArray();
        Broadcast<byte[]> bundle = _spark.SparkContext.Broadcast(RoundBundle.Pack(tasks));
        List<Row> rows;
        try
        {
            DataFrame selected = _shards.Filter($"shard IN ({string.Join(",", workers)})");
            rows = ApplyTrainRound(selected.GroupBy("shard"), bundle, round, _windowLength, _stride).Collect().ToList();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            string error = $"the Spark job of round {round} failed after Spark's task retries (spark.task.maxFailures): {e.Message.ReplaceLineEndings(" ")}";
            return workers.Select(w => new TaskOutcome(w, null, error)).ToList();
        }
        finally
        {
            // Only after the action: DataFrames are lazy and the tasks read the broadcast.
            bundle.Destroy();
        }
        return Outcomes(round, workers, rows);
    }

    public void Dispose()
    {
        _shards.Unpersist();
    }

    /// <summary>
    /// The training UDF, alone in its own static method so that its closure holds exactly the captured
    /// parameters (a Broadcast&lt;byte[]&gt; and ints) and nothing else: no <c>this</c>, no other locals.
    /// </summary>
    private static DataFrame ApplyTrainRound(RelationalGroupedDataset groups, Broadcast<byte[]> bundle, int round, int windowLength, int stride) =>
        groups.Apply(SparkSchemas.TrainResult(), batch => SparkTasks.TrainShardGroup(batch, bundle.Value(), round, windowLength, stride));

    /// <summary>One outcome per requested worker: the first result row counts, duplicates are dropped, a missing one is an error.</summary>
    private IReadOnlyList<TaskOutcome> Outcomes(int round, int[] workers, List<Row> rows)
    {
        var outcomes = new List<TaskOutcome>(workers.Length);
        var seen = new HashSet<int>();
        int ignored = 0;
        foreach (Row row in rows)
        {
            int worker = row.GetAs<int>(0);
            if (row.GetAs<int>(1) != round || System.Array.IndexOf(workers, worker) < 0 || !seen.Add(worker))
            {
                ignored++;
                continue;
            }
            outcomes.Add(new TaskOutcome(worker, row.GetAs<byte[]>(2), null));
        }
        if (ignored > 0)
        {
            _log($"round {round}: ignored {ignored} duplicate or stray result row(s)");
        }
        foreach (int worker in workers.Where(w => !seen.Contains(w)))
        {
            outcomes.Add(new TaskOutcome(worker, null, $"no result from worker {worker} in round {round}: its shard reached Spark with no rows"));
        }
        return outcomes;
    }
}
