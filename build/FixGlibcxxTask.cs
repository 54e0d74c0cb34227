// MSBuild inline task (RoslynCodeTaskFactory), compiled by build/TorchSharpNative.targets.
//
// TorchSharp 0.107.0's libLibTorchSharp.so was linked with GCC >= 13 and so carries a version
// requirement GLIBCXX_3.4.32 on libstdc++.so.6, for exactly one symbol,
// std::ios_base_library_init(), which GCC 13's <iostream> only names: no relocation uses it.
// Debian 12's libstdc++ (GCC 12) stops at GLIBCXX_3.4.30, so ld.so refuses the library and
// TorchSharp reports, misleadingly, that it "doesn't contain a reference to libtorch".
//
// The fix marks that one requirement VER_FLG_WEAK in .gnu.version_r of every copy of the
// library in this project's output (never the NuGet cache); ld.so accepts a missing weak
// version. It is idempotent, and does nothing where the system libstdc++ already has the
// version (or on a machine that is not Linux).
using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class FixGlibcxx : Task
{
    private const ushort VerFlagWeak = 0x2;
    private const uint ShtGnuVerneed = 0x6FFFFFFE;
    private const string Wanted = "GLIBCXX_3.4.32";

    /// <summary>Directories searched (recursively) for libLibTorchSharp.so.</summary>
    [Required]
    public string[] Directories { get; set; } = Array.Empty<string>();

    public override bool Execute()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            return true;
        }
        if (SystemHasVersion())
        {
            Log.LogMessage(MessageImportance.Low, "FixGlibcxx: the system libstdc++ provides " + Wanted + "; nothing to do.");
            return true;
        }
        foreach (var root in Directories)
        {
            if (!Directory.Exists(root))
            {
                continue;
            }
            foreach (var path in Directory.EnumerateFiles(root, "libLibTorchSharp.so", SearchOption.AllDirectories))
            {
                try
                {
                    int changed = Patch(path);
                    Log.LogMessage(changed > 0 ? MessageImportance.Normal : MessageImportance.Low,
                        "FixGlibcxx: " + path + (changed > 0 ? ": marked " + Wanted + " weak (Debian 12 libstdc++ lacks it)" : ": already loadable"));
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InvalidDataException)
                {
                    Log.LogError("FixGlibcxx: cannot patch '" + path + "': " + e.Message +
                        ". TorchSharp will not load on this machine; install a libstdc++ from GCC 13 or later, or make the file writable.");
                }
            }
        }
        return !Log.HasLoggedErrors;
    }

    private static bool SystemHasVersion()
    {
        foreach (var p in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                                  "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" })
        {
            if (File.Exists(p))
            {
                return IndexOf(File.ReadAllBytes(p), Encoding.ASCII.GetBytes(Wanted + "\0")) >= 0;
            }
        }
        return false;
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i <= haystack.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j])
            {
                j++;
            }
            if (j == needle.Length)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Returns how many requirements were changed (0 when the file is already loadable).</summary>
    private static int Patch(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        if (data.Length < 64 || data[0] != 0x7F || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F' || data[4] != 2 || data[5] != 1)
        {
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
        }
        ulong shoff = BitConverter.ToUInt64(data, 0x28);
        ushort shentsize = BitConverter.ToUInt16(data, 0x3A);
        ushort shnum = BitConverter.ToUInt16(data, 0x3C);
        int changed = 0;
        for (int i = 0; i < shnum; i++)
        {
            int sec = checked((int)shoff + i * shentsize);
            uint type = BitConverter.ToUInt32(data, sec + 4);
            if (type != ShtGnuVerneed)
            {
                continue;
            }
            int vnOff = checked((int)BitConverter.ToUInt64(data, sec + 0x18));
            uint link = BitConverter.ToUInt32(data, sec + 0x28);
            uint count = BitConverter.ToUInt32(data, sec + 0x2C);
            int strSec = checked((int)shoff + (int)link * shentsize);
            int strtab = checked((int)BitConverter.ToUInt64(data, strSec + 0x18));
            for (uint n = 0; n < count; n++)
            {
                ushort vnCnt = BitConverter.ToUInt16(data, vnOff + 2);
                uint vnAux = BitConverter.ToUInt32(data, vnOff + 8);
                uint vnNext = BitConverter.ToUInt32(data, vnOff + 12);
                int aux = vnOff + (int)vnAux;
                for (int a = 0; a < vnCnt; a++)
                {
                    ushort flags = BitConverter.ToUInt16(data, aux + 4);
                    uint nameOff = BitConverter.ToUInt32(data, aux + 8);
                    uint auxNext = BitConverter.ToUInt32(data, aux + 12);
                    int start = strtab + (int)nameOff;
                    int end = Array.IndexOf(data, (byte)0, start);
                    string name = Encoding.ASCII.GetString(data, start, end - start);
                    if (name == Wanted && (flags & VerFlagWeak) == 0)
                    {
                        ushort weak = (ushort)(flags | VerFlagWeak);
                        data[aux + 4] = (byte)(weak & 0xFF);
                        data[aux + 5] = (byte)(weak >> 8);
                        changed++;
                    }
                    aux += (int)auxNext;
                }
                vnOff += (int)vnNext;
            }
        }
        if (changed > 0)
        {
            // Write beside, then rename: a concurrent reader never sees a half-written library.
            string tmp = path + ".glibcxx-tmp";
            File.WriteAllBytes(tmp, data);
            File.Replace(tmp, path, null);
        }
        return changed;
    }
}
