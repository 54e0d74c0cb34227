namespace SparkAnomaly.Spark;

/// <summary>The command line of the Spark jobs (after DotnetRunner's own arguments). Paths are as Spark resolves them.</summary>
public sealed class JobArguments
{
    public string Command { get; private init; } = "";

    public string? Data { get; private init; }

    public string? Out { get; private init; }

    public string? Config { get; private init; }

    public string? Model { get; private init; }

    public string? Format { get; private init; }

    public string SeriesColumn { get; private init; } = "series_id";

    public string TimeColumn { get; private init; } = "timestamp";

    public string SplitColumn { get; private init; } = "split";

    public string[] Channels { get; private init; } = System.Array.Empty<string>();

    public string? CheckpointDirectory { get; private init; }

    public bool Overwrite { get; private init; }

    public bool Resume { get; private init; }

    public bool Help { get; private init; }

    public static string Usage =>
        """
        SparkAnomaly on Spark (run through spark-submit ... DotnetRunner; see submit.sh)

          train --data PATH --config train.json --out DIR --channels a,b,c
                [--format parquet|csv] [--series-column series_id] [--time-column timestamp]
                [--split-column split] [--checkpoint-dir LOCAL_DIR]
          score --data PATH --model MODEL --out DIR
                [--format parquet|csv] [--series-column series_id] [--time-column timestamp] [--overwrite] [--resume]

        PATH, DIR and MODEL may be hdfs://, s3a://, abfss:// or local paths. Training writes DIR/model.parquet
        (driver-local DIR) or the dataset DIR/model (other schemes); scoring writes DIR/scores.parquet,
        partitioned by series_id.
        """;

    /// <exception cref="SparkAnomalyException">Unknown command or option, a missing value or a missing required option.</exception>
    public static JobArguments Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
        {
            return new JobArguments { Help = true };
        }
        string command = args[0];
        if (command is not ("train" or "score"))
        {
            throw new SparkAnomalyException($"unknown command '{command}'. Use train or score (--help for usage).");
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        bool overwrite = false, resume = false, help = false;
        for (int i = 1; i < args.Count; i++)
        {
            string option = args[i];
            if (option is "--overwrite")
            {
                overwrite = true;
                continue;
            }
            if (option is "--resume")
            {
                resume = true;
                continue;
            }
            if (option is "-h" or "--help")
            {
                help = true;
                continue;
            }
            if (!option.StartsWith("--", StringComparison.Ordinal) || !Known(option))
            {
                throw new SparkAnomalyException($"unknown option '{option}' for {command} (--help for usage).");
            }
            if (i + 1 >= args.Count)
            {
                throw new SparkAnomalyException($"option {option} needs a value.");
            }
            values[option] = args[++i];
        }
        var parsed = new JobArguments
        {
            Command = command,
            Help = help,
            Overwrite = overwrite,
            Resume = resume,
            Data = Get(values, "--data"),
            Out = Get(values, "--out"),
            Config = Get(values, "--config"),
            Model = Get(values, "--model"),
            Format = Get(values, "--format"),
            SeriesColumn = Get(values, "--series-column") ?? "series_id",
            TimeColumn = Get(values, "--time-column") ?? "timestamp",
            SplitColumn = Get(values, "--split-column") ?? "split",
            Channels = (Get(values, "--channels") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            CheckpointDirectory = Get(values, "--checkpoint-dir"),
        };
        if (!help)
        {
            Require(parsed.Data, "--data", command);
            Require(parsed.Out, "--out", command);
            Require(command == "train" ? parsed.Config : parsed.Model, command == "train" ? "--config" : "--model", command);
        }
        return parsed;
    }

    private static bool Known(string option) => option is "--data" or "--out" or "--config" or "--model" or "--format"
        or "--series-column" or "--time-column" or "--split-column" or "--channels" or "--checkpoint-dir";

    private static string? Get(Dictionary<string, string> values, string option) => values.TryGetValue(option, out var v) ? v : null;

    private static void Require(string? value, string option, string command)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new SparkAnomalyException($"{command} needs {option} (--help for usage).");
        }
    }
}
