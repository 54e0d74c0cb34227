using SparkAnomaly.Evaluation;
using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Skab;
using Xunit.Abstractions;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>
/// Mutated scores and labels Parquet files (inputs of <c>evaluate</c> and <c>inspect</c>): every reader of
/// them either succeeds or refuses with a one-line <see cref="SparkAnomalyException"/> (exit 1), never
/// another exception (exit 2 "internal error").
/// </summary>
public sealed class OutputFileFuzzTests
{
    private readonly ITestOutputHelper _output;

    public OutputFileFuzzTests(ITestOutputHelper output) => _output = output;

    /// <summary>
    /// Flips every <paramref name="step"/>-th byte of <paramref name="good"/> (one flip per mutant) and runs
    /// each reader on each mutant; returns the unexpected outcomes.
    /// </summary>
    private List<string> Sweep(string path, byte[] good, int step, params (string Name, Action<string> Read)[] readers)
    {
        var unexpected = new List<string>();
        int mutants = 0, refused = 0;
        for (int i = 0; i < good.Length; i += step)
        {
            var bytes = good.ToArray();
            bytes[i] ^= 0xFF;
            File.WriteAllBytes(path, bytes);
            mutants++;
            foreach (var (name, read) in readers)
            {
                try
                {
                    read(path);
                }
                catch (SparkAnomalyException e)
                {
                    refused++;
                    if (e.Message.Contains('\n') || !e.Message.Contains(path, StringComparison.Ordinal))
                    {
                        unexpected.Add($"{name}, byte {i}: message is multi-line or does not name the file: {e.Message}");
                    }
                }
                catch (Exception e)
                {
                    unexpected.Add($"{name}, byte {i}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        _output.WriteLine($"{Path.GetFileName(path)}: {mutants} mutants of {good.Length} bytes, {refused} refusals, {unexpected.Count} unexpected");
        Assert.True(refused > 0, "no mutant was refused: the sweep did not reach the parser");
        return unexpected;
    }

    [Fact]
    public void ScoresFile_ByteFlips_EvaluateAndInspectReadersReadOrRefuse()
    {
        using var dir = new TempDir();
        var good = File.ReadAllBytes(ScoresFixture.Write(dir.File("good.parquet")));

        var unexpected = Sweep(dir.File("scores.parquet"), good, Math.Max(1, good.Length / 250),
            ("evaluate (ScoresReader)", p => ScoresReader.Read(p)),
            ("inspect (OutputFiles.Detect)", p => OutputFiles.Detect(p)),
            ("inspect (ScoresSummary)", p => ScoresSummary.Read(p)));

        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected.Take(20)));
    }

    [Fact]
    public async Task LabelsParquet_ByteFlips_ReadOrRefuse()
    {
        using var dir = new TempDir();
        string goodPath = dir.File("good.parquet");
        var id = new Parquet.Schema.DataField<string>("series_id");
        var ts = new Parquet.Schema.DataField<long>("timestamp");
        var label = new Parquet.Schema.DataField<int?>("label");
        await using (var fs = File.Create(goodPath))
        {
            await using var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(id, ts, label), fs);
            using var rg = writer.CreateRowGroup();
            await rg.WriteAsync(id, Enumerable.Range(0, 200).Select(i => i < 100 ? "s0" : "s1").ToArray());
            await rg.WriteAsync<long>(ts, Enumerable.Range(0, 200).Select(i => 1_000L + i % 100).ToArray());
            await rg.WriteAsync<int>(label, Enumerable.Range(0, 200).Select(i => i % 100 is >= 60 and < 70 ? (int?)1 : i % 17 == 0 ? null : 0).ToArray());
        }
        var good = File.ReadAllBytes(goodPath);

        var unexpected = Sweep(dir.File("labels.parquet"), good, 1, ("evaluate --labels (LabelsFile)", p => LabelsFile.Read(p)));

        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected.Take(20)));
    }
}
