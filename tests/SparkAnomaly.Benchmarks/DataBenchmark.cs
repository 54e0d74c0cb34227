using System.Diagnostics;
using System.Text.Json.Nodes;
using Parquet;
using Parquet.Schema;
using SparkAnomaly.Data;
using SparkAnomaly.Training;

namespace SparkAnomaly.Benchmarks;

/// <summary>
/// Issue 6's data benchmark: load + validate + normalise + window a generated Parquet file of
/// <c>rows</c> × 8 channels (10 series, 1 M-row row groups). Reports values/s (wall and CPU time)
/// and peak RSS above the pre-read baseline as a multiple of the float32 data size.
/// </summary>
internal static class DataBenchmark
{
    public const int Channels = 8;
    public const int Series = 10;

    public static JsonObject Run(long rows, string dir, TextWriter log)
    {
        string path = Path.Combine(dir, $"data-{rows}.parquet");
        if (!File.Exists(path))
        {
            log.WriteLine($"perf: writing {rows:N0}-row Parquet file {path}");
            Generate(path, rows).GetAwaiter().GetResult();
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long baseline = Machine.RssBytes();
        bool resetOk = Machine.ResetPeakRss();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var set = DataReader.Read(path);
        double readS = sw.Elapsed.TotalSeconds;
        var normaliser = Normaliser.Fit(set);
        // In place: the benchmark, like a load-then-train pipeline, has no use for the raw values afterwards.
        var normalised = normaliser.ApplyInPlace(set);
        set = null!;
        var shard = ShardData.FromSeries(normalised.Series, 64, 1);
        double secs = sw.Elapsed.TotalSeconds;
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        long peak = resetOk ? Machine.PeakRssBytes() : -1;
        long values = rows * Channels;
        long floatBytes = values * sizeof(float);
        GC.KeepAlive(shard);
        var result = new JsonObject
        {
            ["rows"] = rows,
            ["channels"] = Channels,
            ["series"] = Series,
            ["file_bytes"] = new FileInfo(path).Length,
            ["float32_bytes"] = floatBytes,
            ["read_seconds"] = Math.Round(readS, 3),
            ["seconds"] = Math.Round(secs, 3),
            ["cpu_seconds"] = Math.Round(cpu, 3),
            ["values_per_s"] = Math.Round(values / secs),
            ["values_per_cpu_s"] = cpu > 0 ? Math.Round(values / cpu) : null,
            ["windows"] = shard.WindowCount,
            ["baseline_rss_bytes"] = baseline,
            ["peak_rss_bytes"] = peak,
            ["peak_rss_over_data"] = peak > 0 ? Math.Round((peak - baseline) / (double)floatBytes, 2) : null,
            ["targets"] = "≥ 20 M values/s on one core; peak ≤ 2× the float32 data size",
        };
        log.WriteLine($"perf: data {rows:N0}×{Channels}: {values / secs / 1e6:F1} M values/s ({values / cpu / 1e6:F1} M per CPU-s), peak {result["peak_rss_over_data"]}× data");
        return result;
    }

    private static async Task Generate(string path, long rows)
    {
        var fields = new List<DataField> { new DataField<string>("series_id"), new DataField<long>("timestamp") };
        for (int c = 0; c < Channels; c++)
        {
            fields.Add(new DataField<float>($"ch{c}"));
        }
        var schema = new ParquetSchema(fields.Cast<Field>().ToArray());
        string tmp = path + ".tmp";
        await using (var fs = File.Create(tmp))
        await using (var writer = await ParquetWriter.CreateAsync(schema, fs))
        {
            long perSeries = (rows + Series - 1) / Series;
            const int groupRows = 1_000_000;
            var rnd = new Random(7);
            for (long start = 0; start < rows; start += groupRows)
            {
                int n = (int)Math.Min(groupRows, rows - start);
                var ids = new string[n];
                var ts = new long[n];
                for (int i = 0; i < n; i++)
                {
                    long row = start + i;
                    ids[i] = $"s{row / perSeries:D2}";
                    ts[i] = row % perSeries;
                }
                using var rg = writer.CreateRowGroup();
                await rg.WriteAsync(schema.DataFields[0], ids);
                await rg.WriteAsync<long>(schema.DataFields[1], ts);
                for (int c = 0; c < Channels; c++)
                {
                    var v = new float[n];
                    for (int i = 0; i < n; i++)
                    {
                        v[i] = (float)(Math.Sin((start + i) * 0.01 * (c + 1)) + 0.1 * rnd.NextDouble());
                    }
                    await rg.WriteAsync<float>(schema.DataFields[2 + c], v);
                }
                rg.CompleteValidate();
            }
        }
        File.Move(tmp, path, overwrite: true);
    }
}
