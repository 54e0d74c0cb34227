using System.Text;
using TorchSharp;

namespace SparkAnomaly.Model;

/// <summary>
/// Loads TorchSharp's native backend once, and turns its failures into one clear message.
/// TorchSharp reports a missing GLIBCXX version as "doesn't contain a reference to libtorch",
/// which points the wrong way; this names the real cause and the fix.
/// </summary>
public static class TorchRuntime
{
    private const string RequiredGlibcxx = "GLIBCXX_3.4.32";
    private static readonly object s_gate = new();
    private static bool s_loaded;

    /// <summary>Makes sure the native backend is loaded; throws <see cref="SparkAnomalyException"/> if it cannot be.</summary>
    public static void EnsureLoaded()
    {
        if (Volatile.Read(ref s_loaded))
        {
            return;
        }
        lock (s_gate)
        {
            if (s_loaded)
            {
                return;
            }
            try
            {
                // The first call into torch initialises the native library.
                _ = torch.get_num_threads();
            }
            catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException or EntryPointNotFoundException)
            {
                throw new SparkAnomalyException(Diagnose(e), e);
            }
            Volatile.Write(ref s_loaded, true);
        }
    }

    /// <summary>Version and backend line for provenance and <c>--version</c> output.</summary>
    public static string Describe()
    {
        EnsureLoaded();
        return $"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch {torch.__version__}, cuda {(torch.cuda.is_available() ? "available" : "not available")}";
    }

    private static string Diagnose(Exception e)
    {
        string? libstdcxx = FindSystemLibStdCxx();
        bool hasVersion = libstdcxx is not null && FileContains(libstdcxx, RequiredGlibcxx + "\0");
        string root = e.GetBaseException().Message.ReplaceLineEndings(" ");
        if (OperatingSystem.IsLinux() && libstdcxx is not null && !hasVersion)
        {
            return $"TorchSharp's native library could not be loaded: libLibTorchSharp.so needs {RequiredGlibcxx}, which the system libstdc++ ({libstdcxx}) lacks (Debian 12 stops at GLIBCXX_3.4.30). " +
                   "SparkAnomaly's build patches the copy in each output folder: build or publish through the project (dotnet build / dotnet publish / dotnet run), not by copying files from elsewhere, or install a libstdc++ from GCC 13 or later. " +
                   $"(TorchSharp said: {root})";
        }
        return "TorchSharp's native library could not be loaded. The application must reference a backend package (TorchSharp-cpu, or TorchSharp-cuda-linux for GPUs) so that libtorch is copied beside it. " +
               $"(TorchSharp said: {root})";
    }

    private static string? FindSystemLibStdCxx()
    {
        foreach (var p in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" })
        {
            if (File.Exists(p))
            {
                return p;
            }
        }
        return null;
    }

    private static bool FileContains(string path, string text)
    {
        try
        {
            return File.ReadAllBytes(path).AsSpan().IndexOf(Encoding.ASCII.GetBytes(text)) >= 0;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
