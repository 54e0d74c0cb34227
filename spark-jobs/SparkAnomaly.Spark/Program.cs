using Microsoft.Spark.Sql;

namespace SparkAnomaly.Spark;

/// <summary>
/// Entry point that DotnetRunner starts: <c>spark-submit --class org.apache.spark.deploy.dotnet.DotnetRunner
/// ... microsoft-spark-3-5_2.12-2.3.1.jar SparkAnomaly.Spark train|score ...</c> (submit.sh builds that line).
/// Exit codes: 0 done, 1 user/data/environment error (one line on stderr), other failures propagate so that
/// Spark shows the driver as failed with the full trace.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        JobArguments parsed;
        try
        {
            parsed = JobArguments.Parse(args);
        }
        catch (SparkAnomalyException e)
        {
            Console.Error.WriteLine("SparkAnomaly.Spark: " + e.Message);
            return 1;
        }
        if (parsed.Help)
        {
            Console.WriteLine(JobArguments.Usage);
            return 0;
        }

        Action<string> log = message => Console.Error.WriteLine($"SparkAnomaly.Spark {DateTime.UtcNow:HH:mm:ss} {message}");
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        SparkSession spark = SparkSession.Builder().AppName("SparkAnomaly " + parsed.Command).GetOrCreate();
        try
        {
            if (parsed.Command == "train")
            {
                TrainJob.Run(spark, parsed, log, cancellation.Token);
            }
            else
            {
                ScoreJob.Run(spark, parsed, log);
            }
            return 0;
        }
        catch (SparkAnomalyException e)
        {
            Console.Error.WriteLine("SparkAnomaly.Spark: " + e.Message);
            return 1;
        }
        finally
        {
            spark.Stop();
        }
    }
}
