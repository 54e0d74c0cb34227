using SparkAnomaly.Benchmarks;

// dotnet run -c Release --project tests/SparkAnomaly.Benchmarks -- [--quick] [--out DIR] [--no-peer] [--peer-script PATH]
//     [--data-rows N (0 = skip)] [--reps N] [--task-latency-ms MS]
var o = new BenchOptions();
if (args.Length > 0 && args[0] == "--golden")
{
    Golden.Run(Console.Out);
    return 0;
}
if (args.Length > 0 && args[0] == "--data-only")
{
    // Issue 6's data benchmark alone, in a process that never loads libtorch:
    // --data-only [ROWS (default 10,000,000)] [DIR (default perf-out)]
    long rows = args.Length > 1 ? long.Parse(args[1]) : 10_000_000;
    string dir = args.Length > 2 ? args[2] : "perf-out";
    Directory.CreateDirectory(dir);
    Console.WriteLine(DataBenchmark.Run(rows, dir, Console.Error).ToJsonString());
    return 0;
}
if (args.Length > 0 && args[0] == "--profile")
{
    Profile.Run(args.Length > 1 ? int.Parse(args[1]) : 100, Console.Error);
    return 0;
}
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    o = args[i] switch
    {
        "--quick" => o with { Quick = true },
        "--out" => o with { OutDir = Next() },
        "--no-peer" => o with { Peer = false },
        "--peer-script" => o with { PeerScript = Next() },
        "--data-rows" => o with { DataRows = long.Parse(Next()) },
        "--reps" => o with { Repetitions = int.Parse(Next()) },
        "--task-latency-ms" => o with { TaskLatencyMs = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture) },
        "-h" or "--help" => throw new ArgumentException("usage: [--quick] [--out DIR] [--no-peer] [--peer-script PATH] [--data-rows N] [--reps N] [--task-latency-ms MS]"),
        _ => throw new ArgumentException($"unknown option {args[i]}"),
    };
}
var result = PerfBenchmark.Run(o, Console.Error);
Console.WriteLine(PerfBenchmark.Markdown(result));
Console.Error.WriteLine($"perf: wrote {Path.Combine(o.OutDir, "perf.json")} and perf.md");
return 0;
