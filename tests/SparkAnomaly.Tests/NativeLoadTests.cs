using SparkAnomaly.Model;
using TorchSharp;

namespace SparkAnomaly.Tests;

public sealed class NativeLoadTests
{
    [Fact]
    public void EnsureLoaded_OnThisMachine_LoadsTorchAndComputes()
    {
        TorchRuntime.EnsureLoaded();

        using var a = torch.ones(2, 3);
        using var b = torch.ones(3, 4);
        using var c = a.matmul(b);

        Assert.Equal(new long[] { 2, 4 }, c.shape);
        Assert.Equal(3f, c[1, 2].item<float>());
    }

    [Fact]
    public void BuildOutput_LibTorchSharp_NoLongerRequiresMissingGlibcxx()
    {
        // The build patches every copy in the output folder; none may keep a hard GLIBCXX_3.4.32 need
        // unless the system library provides that version.
        var libs = Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).ToList();
        Assert.NotEmpty(libs);
        bool systemHasIt = File.Exists("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
            && File.ReadAllBytes("/usr/lib/x86_64-linux-gnu/libstdc++.so.6").AsSpan().IndexOf("GLIBCXX_3.4.32\0"u8) >= 0;
        if (!systemHasIt)
        {
            Assert.All(libs, lib => Assert.True(ElfTestReader.IsVersionNeedWeak(lib, "GLIBCXX_3.4.32"), lib + " still has a hard GLIBCXX_3.4.32 requirement"));
        }
    }
}

/// <summary>Independent reader of ELF .gnu.version_r flags, to check what the build did.</summary>
internal static class ElfTestReader
{
    public static bool IsVersionNeedWeak(string path, string version)
    {
        var d = File.ReadAllBytes(path);
        ulong shoff = BitConverter.ToUInt64(d, 0x28);
        int shentsize = BitConverter.ToUInt16(d, 0x3A), shnum = BitConverter.ToUInt16(d, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sec = (int)shoff + i * shentsize;
            if (BitConverter.ToUInt32(d, sec + 4) != 0x6FFFFFFE)
            {
                continue;
            }
            int off = (int)BitConverter.ToUInt64(d, sec + 0x18);
            int strtab = (int)BitConverter.ToUInt64(d, (int)shoff + (int)BitConverter.ToUInt32(d, sec + 0x28) * shentsize + 0x18);
            for (uint n = 0, count = BitConverter.ToUInt32(d, sec + 0x2C); n < count; n++)
            {
                int aux = off + (int)BitConverter.ToUInt32(d, off + 8);
                for (int a = 0; a < BitConverter.ToUInt16(d, off + 2); a++)
                {
                    int name = strtab + (int)BitConverter.ToUInt32(d, aux + 8);
                    int end = Array.IndexOf(d, (byte)0, name);
                    if (System.Text.Encoding.ASCII.GetString(d, name, end - name) == version)
                    {
                        return (BitConverter.ToUInt16(d, aux + 4) & 0x2) != 0;
                    }
                    aux += (int)BitConverter.ToUInt32(d, aux + 12);
                }
                off += (int)BitConverter.ToUInt32(d, off + 12);
            }
        }
        return true; // no such requirement at all
    }
}
