using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SparkAnomaly.Training;

/// <summary>Non-cryptographic hashes for config identity and corruption checks (not for security).</summary>
public static class Hashing
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    /// <summary>FNV-1a over bytes; stable across runs, machines and .NET versions.</summary>
    public static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        ulong h = FnvOffset;
        foreach (byte b in data)
        {
            h = (h ^ b) * FnvPrime;
        }
        return h;
    }

    /// <summary>
    /// A fast checksum over 8-byte words (FNV-style mixing per word, a final avalanche), for
    /// payloads and model files where a byte-at-a-time hash would cost milliseconds.
    /// </summary>
    public static ulong Checksum(ReadOnlySpan<byte> data)
    {
        ulong h = FnvOffset ^ (ulong)data.Length;
        var words = MemoryMarshal.Cast<byte, ulong>(data[..(data.Length & ~7)]);
        foreach (ulong w in words)
        {
            ulong v = BitConverter.IsLittleEndian ? w : BinaryPrimitives.ReverseEndianness(w);
            h = (h ^ v) * FnvPrime;
            h ^= h >> 29;
        }
        foreach (byte b in data[(data.Length & ~7)..])
        {
            h = (h ^ b) * FnvPrime;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        return h;
    }

    /// <summary>SplitMix64 step: derives independent, reproducible seeds from (seed, a, b, ...).</summary>
    public static ulong Mix(ulong seed, params long[] parts)
    {
        ulong x = seed;
        foreach (long p in parts)
        {
            x = SplitMix(x ^ SplitMix((ulong)p + 0x9E3779B97F4A7C15UL));
        }
        return x;
    }

    internal static ulong SplitMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
