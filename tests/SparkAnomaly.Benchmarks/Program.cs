using SparkAnomaly.Benchmarks;

// dotnet run -c Release --project tests/SparkAnomaly.Benchmarks -- [--quick] [--out DIR] [--no-peer] [--peer-script PATH]
//     [--data-rows N (0 = skip)] [--reps N] [--task-latency-ms MS]
const string Usage = "usage: SparkAnomaly.Benchmarks [--quick] [--out DIR] [--no-peer] [--peer-script PATH] [--data-rows N] [--reps N] [--task-latency-ms MS]"
    + " | --data-only [ROWS] [DIR] | --golden | --profile [N]";
var o = new BenchOptions();
try
{
    if (args.Length > 0 && args[0] == "--golden")
    {
        Golden.Run(Console.Out);
        return 0;
    }
    if (args.Length > 0 && args[0] == "--data-only")
    {
        // Issue 6's data benchmark alone, in a process that never loads libtorch:
        // --data-only [ROWS (default 10,000,000)] [DIR (default perf-out)]
        long rows = args.Length > 1 ? long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000;
        string dir = args.Length > 2 ? args[2] : "perf-out";
        Directory.CreateDirectory(dir);
        Console.WriteLine(DataBenchmark.Run(rows, dir, Console.Error).ToJsonString());
        return 0;
    }
    if (args.Length > 0 && args[0] == "--profile")
    {
        Profile.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100, Console.Error);
        return 0;
    }
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        double Number()
        {
            string option = args[i], v = Next();
            return double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double x) && x >= 0
                ? x
                : throw new ArgumentException($"{option} needs a number of 0 or more, not '{v}'");
        }
        if (args[i] is "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return 0;
        }
        o = args[i] switch
        {
            "--quick" => o with { Quick = true },
            "--out" => o with { OutDir = Next() },
            "--no-peer" => o with { Peer = false },
            "--peer-script" => o with { PeerScript = Next() },
            "--data-rows" => o with { DataRows = checked((long)Number()) },
            "--reps" => o with { Repetitions = checked((int)Number()) },
            "--task-latency-ms" => o with { TaskLatencyMs = Number() },
            _ => throw new ArgumentException($"unknown option '{args[i]}'"),
        };
    }
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    // Bad arguments get one line and the usage, never a stack trace.
    Console.Error.WriteLine($"perf: {e.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
var result = PerfBenchmark.Run(o, Console.Error);
Console.WriteLine(PerfBenchmark.Markdown(result));
Console.Error.WriteLine($"perf: wrote {Path.Combine(o.OutDir, "perf.json")} and perf.md");
return 0;
