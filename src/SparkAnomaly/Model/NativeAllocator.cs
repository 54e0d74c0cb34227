using System.Runtime.InteropServices;

namespace SparkAnomaly.Model;

/// <summary>
/// Keeps glibc's malloc from returning libtorch's per-step buffers to the kernel. A training step
/// allocates and frees several MB (the fused LSTM's workspace, activations, gradients); with glibc's
/// defaults the large blocks are mmap'd or trimmed from the heap top and every step faults the pages
/// back in (thousands of minor faults per step, each zero-filling 4 KiB). Setting the mmap threshold
/// to its maximum (32 MiB) and the trim threshold high keeps them in the heap for reuse. Linux/glibc
/// only; a no-op elsewhere or with <c>SPARKANOMALY_MALLOC_TUNING=0</c>. Costs: freed memory stays
/// resident (at most the step's peak, a few tens of MB for the reference model).
/// </summary>
public static class NativeAllocator
{
    public const string DisableVariable = "SPARKANOMALY_MALLOC_TUNING";
    private const int MTrimThreshold = -1;
    private const int MTopPad = -2;
    private const int MMmapThreshold = -3;
    private static readonly object s_gate = new();
    private static bool? s_tuned;

    /// <summary>Whether the tuning is in effect in this process.</summary>
    public static bool Tuned => s_tuned == true;

    /// <summary>Applies the tuning once per process; returns whether it is in effect.</summary>
    public static bool EnsureTuned()
    {
        if (s_tuned is bool done)
        {
            return done;
        }
        lock (s_gate)
        {
            s_tuned ??= Apply();
            return s_tuned.Value;
        }
    }

    private static bool Apply()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(DisableVariable) == "0")
        {
            return false;
        }
        try
        {
            return mallopt(MMmapThreshold, 32 << 20) == 1
                & mallopt(MTrimThreshold, 512 << 20) == 1
                & mallopt(MTopPad, 16 << 20) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;   // not glibc (e.g. musl): nothing to tune
        }
    }

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
}
