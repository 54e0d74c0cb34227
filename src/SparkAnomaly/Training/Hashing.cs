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
    /// A fast checksum over 8-byte words: four independent FNV-style lanes (so the multiplies overlap
    /// instead of forming one dependency chain), folded and avalanched at the end. For payloads and model
    /// files, where a byte-at-a-time hash would cost milliseconds. Not for security.
    /// </summary>
    public static ulong Checksum(ReadOnlySpan<byte> data)
    {
        var lanes = new Lanes(data.Length);
        lanes.Add(MemoryMarshal.Cast<byte, ulong>(data[..(data.Length & ~31)]));
        return lanes.Finish(data[(data.Length & ~31)..]);
    }

    /// <summary>
    /// <see cref="Checksum(ReadOnlySpan{byte})"/> of the timestamps' bytes (int64s in memory order, as an
    /// array of them would give), expanded a chunk at a time, so a compact axis is never expanded whole.
    /// </summary>
    public static ulong Checksum(Data.TimeAxis timestamps)
    {
        ArgumentNullException.ThrowIfNull(timestamps);
        int n = timestamps.Length;
        var lanes = new Lanes(8L * n);
        Span<long> chunk = stackalloc long[512];
        int whole = n & ~3; // the words the four lanes take; the rest are hashed byte by byte
        for (int start = 0; start < whole; start += chunk.Length)
        {
            var words = chunk[..Math.Min(chunk.Length, whole - start)];
            timestamps.CopyTo(start, words);
            lanes.Add(MemoryMarshal.Cast<long, ulong>(words));
        }
        Span<long> tail = stackalloc long[3];
        tail = tail[..(n - whole)];
        timestamps.CopyTo(whole, tail);
        return lanes.Finish(MemoryMarshal.AsBytes(tail));
    }

    /// <summary>The state of <see cref="Checksum(ReadOnlySpan{byte})"/>: four lanes over whole 32-byte blocks, then the tail.</summary>
    private struct Lanes
    {
        private ulong _h0, _h1, _h2, _h3;

        public Lanes(long length)
        {
            _h0 = FnvOffset ^ (ulong)length;
            _h1 = _h0 ^ 0x9E3779B97F4A7C15UL;
            _h2 = _h0 ^ 0xC2B2AE3D27D4EB4FUL;
            _h3 = _h0 ^ 0x165667B19E3779F9UL;
        }

        /// <summary>Words in multiples of four, in order.</summary>
        public void Add(ReadOnlySpan<ulong> words)
        {
            for (int i = 0; i < words.Length; i += 4)
            {
                _h0 = Lane(_h0, words[i]);
                _h1 = Lane(_h1, words[i + 1]);
                _h2 = Lane(_h2, words[i + 2]);
                _h3 = Lane(_h3, words[i + 3]);
            }
        }

        /// <summary>Folds the lanes, hashes the tail (under 32 bytes) byte by byte, and avalanches.</summary>
        public readonly ulong Finish(ReadOnlySpan<byte> tail)
        {
            ulong h = _h0 ^ SplitMix(_h1) ^ SplitMix(_h2 + 1) ^ SplitMix(_h3 + 2);
            foreach (byte b in tail)
            {
                h = (h ^ b) * FnvPrime;
            }
            h ^= h >> 33;
            h *= 0xff51afd7ed558ccdUL;
            h ^= h >> 33;
            return h;
        }
    }

    private static ulong Lane(ulong h, ulong word)
    {
        ulong v = BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word);
        h = (h ^ v) * FnvPrime;
        return h ^ (h >> 29);
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
