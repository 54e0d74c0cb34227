using SparkAnomaly.Data;
using Xunit.Abstractions;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>
/// Mutated data files: reading either succeeds or fails with a <see cref="SparkAnomalyException"/> (exit 1
/// in the CLI), never with another exception (exit 2) or a crash.
/// </summary>
public sealed class InputFuzzTests
{
    private readonly ITestOutputHelper _output;

    public InputFuzzTests(ITestOutputHelper output) => _output = output;

    private (int Read, int Refused, List<string> Unexpected) Fuzz(string path, byte[] good, IEnumerable<byte[]> mutants)
    {
        int read = 0, refused = 0;
        var unexpected = new List<string>();
        int n = 0;
        foreach (var bytes in mutants)
        {
            File.WriteAllBytes(path, bytes);
            try
            {
                DataReader.Read(path);
                read++;
            }
            catch (SparkAnomalyException e)
            {
                refused++;
                if (e.Message.Contains('\n'))
                {
                    unexpected.Add($"mutant {n}: multi-line message");
                }
            }
            catch (Exception e)
            {
                unexpected.Add($"mutant {n}: {e.GetType().Name}: {e.Message}");
            }
            n++;
        }
        _output.WriteLine($"{Path.GetFileName(path)}: {n} mutants of {good.Length} bytes, {read} read, {refused} refused, {unexpected.Count} unexpected");
        return (read, refused, unexpected);
    }

    [Fact]
    public void Parquet_SingleByteFlips_ReadOrRefused_NeverAnotherException()
    {
        using var dir = new TempDir();
        var good = new CorpusFiles(dir.Path).GoodParquetBytes;
        var mutants = Enumerable.Range(0, good.Length).Where(i => i % 4 == 0).Select(i =>
        {
            var b = good.ToArray();
            b[i] ^= 0xFF;
            return b;
        });

        var (_, refused, unexpected) = Fuzz(dir.File("fuzz.parquet"), good, mutants);

        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected.Take(20)));
        Assert.True(refused > 0);
    }

    [Fact]
    public void Csv_RandomEdits_ReadOrRefused_NeverAnotherException()
    {
        using var dir = new TempDir();
        var good = System.Text.Encoding.UTF8.GetBytes(CorpusFiles.GoodCsvText());
        var random = new Random(9);
        byte[] alphabet = ",\n\r\"\t;.-+eE0123456789NaIfy \u00ff\u0000"u8.ToArray();
        var mutants = Enumerable.Range(0, 400).Select(_ =>
        {
            var b = good.ToList();
            for (int k = random.Next(1, 6); k > 0; k--)
            {
                int at = random.Next(b.Count);
                switch (random.Next(3))
                {
                    case 0: b[at] = alphabet[random.Next(alphabet.Length)]; break;
                    case 1: b.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                    default: b.RemoveAt(at); break;
                }
            }
            return b.ToArray();
        });

        var (_, _, unexpected) = Fuzz(dir.File("fuzz.csv"), good, mutants);

        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected.Take(20)));
    }
}
