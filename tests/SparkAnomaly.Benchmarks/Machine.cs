using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace SparkAnomaly.Benchmarks;

/// <summary>Process memory and machine facts from /proc (Linux); harmless no-ops elsewhere.</summary>
internal static class Machine
{
    /// <summary>Peak resident set size of this process in bytes (VmHWM), or -1.</summary>
    public static long PeakRssBytes() => ReadStatusKb("VmHWM:") is long kb ? kb * 1024 : -1;

    /// <summary>Current resident set size in bytes (VmRSS), or -1.</summary>
    public static long RssBytes() => ReadStatusKb("VmRSS:") is long kb ? kb * 1024 : -1;

    /// <summary>
    /// Resets VmHWM to the current RSS (writing 5 to /proc/self/clear_refs, Linux ≥ 4.0), so the
    /// next <see cref="PeakRssBytes"/> is the peak of one phase. Returns false where unsupported.
    /// </summary>
    public static bool ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Minor page faults of this process so far (field 10 of /proc/self/stat), or -1.</summary>
    public static long MinorFaults()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[7]);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
        {
            return -1;
        }
    }

    public static double[] LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(double.Parse).ToArray();
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return Array.Empty<double>();
        }
    }

    public static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    public static Dictionary<string, object> Describe() => new()
    {
        ["cpu"] = CpuModel(),
        ["logical_cpus"] = Environment.ProcessorCount,
        ["memory_gib"] = Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (double)(1L << 30), 1),
        ["os"] = RuntimeInformation.OSDescription,
        ["dotnet"] = RuntimeInformation.FrameworkDescription,
        ["torchsharp"] = typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
            ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "?",
        ["libtorch"] = torch.__version__,
        ["default_threads"] = torch.get_num_threads(),
        ["load_average_start"] = LoadAverage(),
    };

    private static long? ReadStatusKb(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0]);
                }
            }
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
        }
        return null;
    }
}
