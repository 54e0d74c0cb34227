using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace SparkAnomaly.Benchmarks;

/// <summary>
/// Predicts round time and scaling of parameter averaging from measured quantities:
/// <code>
///   T(N) = C + F + L + N·(D + 8·(Q + R)/β)      C = f·B·c   (compute of one worker per round)
///   S(N) = N·C / T(N)                             speedup over one worker training without averaging
///   E(N) = S(N) / N                               scaling efficiency
/// </code>
/// c: measured seconds per training window on one core; f: averagingFrequency; B: batch per worker;
/// F: measured per-round fixed cost of a worker (payload decode/encode, parameter load/flatten, hand-off);
/// L: task-launch latency of the engine (0 for the local cluster; Spark adds its scheduling delay);
/// D: measured driver CPU per worker per round (encode request, decode + validate result, average);
/// Q, R: request and result bytes per worker (parameters + Adam moments, little-endian float32);
/// β: the driver's network bandwidth. Every request and result crosses the driver's link one after
/// another (the payload carries the parameters, as Spark's binary column does), so communication
/// grows linearly with N. S(N) peaks at N* = √((C+F+L)/k) with k = D + 8(Q+R)/β: past N*,
/// adding workers makes rounds slower than the extra compute they bring ("averaging stops paying").
/// </summary>
internal sealed record CostModel(double SecondsPerWindow, int BatchSize, double WorkerFixedSeconds, double DriverSecondsPerWorker,
    long RequestBytes, long ResultBytes, double TaskLatencySeconds)
{
    public static readonly int[] WorkerCounts = { 1, 2, 4, 8, 16, 32, 64, 128, 256 };
    public static readonly double[] GbitPerSecond = { 1, 10, 25 };

    private static double? J(double v, int digits) => double.IsFinite(v) ? Math.Round(v, digits) : null;

    public double PerWorkerSeconds(double gbit) => DriverSecondsPerWorker + 8.0 * (RequestBytes + ResultBytes) / (gbit * 1e9);

    public double Compute(int averagingFrequency) => averagingFrequency * BatchSize * SecondsPerWindow;

    public double RoundSeconds(int n, double gbit, int averagingFrequency) =>
        Compute(averagingFrequency) + WorkerFixedSeconds + TaskLatencySeconds + n * PerWorkerSeconds(gbit);

    public double Speedup(int n, double gbit, int af) => n * Compute(af) / RoundSeconds(n, gbit, af);

    /// <summary>Worker count with the highest throughput (beyond it averaging stops paying).</summary>
    public double PeakWorkers(double gbit, int af) => Math.Sqrt((Compute(af) + WorkerFixedSeconds + TaskLatencySeconds) / PerWorkerSeconds(gbit));

    /// <summary>Largest worker count that still has ≥ 50% scaling efficiency.</summary>
    public double HalfEfficiencyWorkers(double gbit, int af) =>
        Math.Max(0, (Compute(af) - WorkerFixedSeconds - TaskLatencySeconds) / PerWorkerSeconds(gbit));

    public JsonObject ToJson(int[] frequencies)
    {
        var grid = new JsonArray();
        foreach (int af in frequencies)
        {
            foreach (double g in GbitPerSecond)
            {
                foreach (int n in WorkerCounts)
                {
                    double t = RoundSeconds(n, g, af), s = Speedup(n, g, af);
                    grid.Add(new JsonObject
                    {
                        ["averaging_frequency"] = af,
                        ["gbit_per_s"] = g,
                        ["workers"] = n,
                        ["round_ms"] = J(t * 1e3, 3),
                        ["windows_per_s"] = J(n * af * BatchSize / t, 1),
                        ["speedup"] = J(s, 3),
                        ["efficiency"] = J(s / n, 4),
                    });
                }
            }
        }
        var limits = new JsonArray();
        foreach (int af in frequencies)
        {
            foreach (double g in GbitPerSecond)
            {
                limits.Add(new JsonObject
                {
                    ["averaging_frequency"] = af,
                    ["gbit_per_s"] = g,
                    ["peak_workers"] = J(PeakWorkers(g, af), 1),
                    ["peak_speedup"] = J(Speedup(Math.Max(1, (int)Math.Round(PeakWorkers(g, af))), g, af), 2),
                    ["half_efficiency_workers"] = J(HalfEfficiencyWorkers(g, af), 1),
                });
            }
        }
        return new JsonObject
        {
            ["formula"] = "T(N) = f*B*c + F + L + N*(D + 8*(Q+R)/bandwidth); speedup S(N) = N*f*B*c/T(N); efficiency S/N; peak N* = sqrt((f*B*c+F+L)/(D+8(Q+R)/bandwidth))",
            ["seconds_per_window_c"] = SecondsPerWindow,
            ["batch_size_B"] = BatchSize,
            ["worker_fixed_seconds_F"] = WorkerFixedSeconds,
            ["driver_seconds_per_worker_D"] = DriverSecondsPerWorker,
            ["request_bytes_Q"] = RequestBytes,
            ["result_bytes_R"] = ResultBytes,
            ["task_latency_seconds_L"] = TaskLatencySeconds,
            ["grid"] = grid,
            ["limits"] = limits,
        };
    }

    public string ToMarkdown(int[] frequencies)
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.AppendLine(ci, $"Inputs (measured in this run): c = {SecondsPerWindow * 1e3:F4} ms per window on one core, B = {BatchSize}, " +
            $"F = {WorkerFixedSeconds * 1e3:F2} ms worker fixed cost per round, D = {DriverSecondsPerWorker * 1e3:F3} ms driver CPU per worker per round, " +
            $"Q = {RequestBytes:N0} B request, R = {ResultBytes:N0} B result per worker, L = {TaskLatencySeconds * 1e3:F0} ms task latency.");
        sb.AppendLine();
        foreach (int af in frequencies)
        {
            sb.AppendLine(ci, $"averagingFrequency {af} (compute per round {Compute(af) * 1e3:F1} ms): predicted round time ms / scaling efficiency");
            sb.AppendLine();
            sb.Append("| workers |");
            foreach (double g in GbitPerSecond)
            {
                sb.Append(ci, $" {g:0} Gbit/s |");
            }
            sb.AppendLine();
            sb.Append("|---:|");
            foreach (double _ in GbitPerSecond)
            {
                sb.Append("---:|");
            }
            sb.AppendLine();
            foreach (int n in WorkerCounts)
            {
                sb.Append(ci, $"| {n} |");
                foreach (double g in GbitPerSecond)
                {
                    sb.Append(ci, $" {RoundSeconds(n, g, af) * 1e3:F1} / {Speedup(n, g, af) / n:P0} |");
                }
                sb.AppendLine();
            }
            sb.Append("| **stops paying** (peak N*, speedup there; N at 50% efficiency) |");
            foreach (double g in GbitPerSecond)
            {
                double p = PeakWorkers(g, af);
                sb.Append(ci, $" N*≈{p:F0} (×{Speedup(Math.Max(1, (int)Math.Round(p)), g, af):F1}); 50% at N≈{HalfEfficiencyWorkers(g, af):F0} |");
            }
            sb.AppendLine();
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
