using System.Buffers.Binary;
using System.Reflection;
using Parquet;
using SparkAnomaly.Data;
using SparkAnomaly.Model;
using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Data;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>
/// model.parquet as untrusted input: sizes checked before allocating (also against a crafted footer),
/// no arbitrary types deserialised, version checked, every corruption either refused or harmless.
/// </summary>
public sealed class UntrustedModelTests
{
    /// <summary>
    /// Rewrites the Thrift footer so that every num_rows field (file and row groups, compact protocol
    /// field 3, type i64: header byte 0x16) that equals <paramref name="rows"/> claims <paramref name="claimed"/>.
    /// </summary>
    internal static byte[] ClaimRows(byte[] file, long rows, long claimed)
    {
        int footerLength = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(file.Length - 8));
        int start = file.Length - 8 - footerLength;
        var footer = file.AsSpan(start, footerLength).ToArray();
        var from = new byte[] { 0x16 }.Concat(ZigZagVarint(rows)).ToArray();
        var to = new byte[] { 0x16 }.Concat(ZigZagVarint(claimed)).ToArray();
        var patched = new List<byte>();
        int replaced = 0;
        for (int i = 0; i < footer.Length;)
        {
            if (footer.AsSpan(i).StartsWith(from))
            {
                patched.AddRange(to);
                i += from.Length;
                replaced++;
            }
            else
            {
                patched.Add(footer[i++]);
            }
        }
        Assert.True(replaced >= 2, $"num_rows {rows} found {replaced} times in the footer");
        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, patched.Count);
        return file[..start].Concat(patched).Concat(length).Concat("PAR1"u8.ToArray()).ToArray();
    }

    private static IEnumerable<byte> ZigZagVarint(long v)
    {
        ulong z = (ulong)((v << 1) ^ (v >> 63));
        do
        {
            byte b = (byte)(z & 0x7F);
            z >>= 7;
            yield return z != 0 ? (byte)(b | 0x80) : b;
        }
        while (z != 0);
    }

    private static async Task<long> RowCountAsync(string path)
    {
        await using var reader = await ParquetReader.CreateAsync(path);
        return reader.OpenRowGroupReader(0).RowCount;
    }

    [Fact]
    public async Task Load_FooterClaims10To12Rows_RefusedWithoutAllocating()
    {
        using var dir = new TempDir();
        var good = UntrustedModelFiles.GoodModelBytes;
        long rows = UntrustedModelFiles.Parts().Value.Length;
        string path = dir.File("model.parquet");
        File.WriteAllBytes(path, ClaimRows(good, rows, 1_000_000_000_000));
        Assert.Equal(1_000_000_000_000, await RowCountAsync(path));   // the craft worked: Parquet.Net believes it
        long before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.Throws<SparkAnomalyException>(() => ModelFile.Load(path));

        Assert.Contains("1000000000000", e.Message);
        Assert.Contains("model.parquet", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20, "refused before allocating the claimed size");
    }

    [Fact]
    public async Task DataReader_ParquetFooterClaims10To12Rows_RefusedNotOutOfMemory()
    {
        using var dir = new TempDir();
        var files = new CorpusFiles(dir.Path);
        string path = dir.File("claims.parquet");
        File.WriteAllBytes(path, ClaimRows(files.GoodParquetBytes, 80, 1_000_000_000_000));
        Assert.Equal(1_000_000_000_000, await RowCountAsync(path));

        var e = Assert.Throws<SparkAnomalyException>(() => DataReader.Read(path));

        Assert.Contains("claims.parquet", e.Message);
    }

    [Theory]
    [InlineData("{\"Channels\":4096,\"WindowLength\":64,\"HiddenSize\":8192,\"LatentSize\":16}")]
    [InlineData("{\"Channels\":4096,\"WindowLength\":100000,\"HiddenSize\":8192,\"LatentSize\":8192}")]
    [InlineData("{\"Channels\":2147483647,\"WindowLength\":64,\"HiddenSize\":2147483647,\"LatentSize\":16}")]
    public void Load_MetadataClaimsHugeModel_RefusedBeforeAllocating(string modelJson)
    {
        using var dir = new TempDir();
        string path = UntrustedModelFiles.Rewrite(dir.File("huge.parquet"), "model", modelJson);

        var e = Assert.Throws<SparkAnomalyException>(() => ModelFile.Load(path));

        Assert.Contains("huge.parquet", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3")]
    [InlineData("1.0")]
    [InlineData("")]
    public void Load_FormatVersionMismatch_RefusedNamingBothVersions(string version)
    {
        using var dir = new TempDir();
        string path = UntrustedModelFiles.Rewrite(dir.File("v.parquet"), "format_version", version);

        var e = Assert.Throws<SparkAnomalyException>(() => ModelFile.Load(path));

        Assert.Contains($"format version {version};", e.Message);
        Assert.Contains("reads versions 1 and 2", e.Message);
    }

    [Theory]
    [InlineData("Bogus", "score rule 'Bogus'")]
    [InlineData("1", "score rule '1'")]
    [InlineData("LastStep, CoveringMean", "score rule 'LastStep, CoveringMean'")]
    public void Load_UnknownScoreRule_RefusedWhenLoadedNotWhenScoring(string rule, string expected)
    {
        using var dir = new TempDir();
        string path = UntrustedModelFiles.Rewrite(dir.File("rule.parquet"), "threshold", $$"""{"Method":"percentile:99","Value":1,"FittedOnSteps":10,"ScoreRule":"{{rule}}"}""");

        var e = Assert.Throws<SparkAnomalyException>(() => ModelFile.Load(path));

        Assert.Contains(expected, e.Message);
        Assert.Contains("rule.parquet", e.Message);
    }

    [Fact]
    public void Load_FormatOneWithChannelVariance_RefusedAsEdited()
    {
        using var dir = new TempDir();
        string path = UntrustedModelFiles.Rewrite(dir.File("v1var.parquet"), "threshold",
            """{"Method":"percentile:99","Value":1,"FittedOnSteps":10,"ScoreRule":"ReconstructionProbability","ChannelVariance":[0.5]}""");

        var e = Assert.Throws<SparkAnomalyException>(() => ModelFile.Load(path));

        Assert.Contains("declares format version 1 but holds a channel variance", e.Message);
    }

    public static TheoryData<string, string> TypeDirectives => new()
    {
        { "model", "{\"$type\":\"System.Diagnostics.Process, System.Diagnostics.Process\",\"Channels\":8,\"WindowLength\":16,\"HiddenSize\":8,\"LatentSize\":4}" },
        { "model", "{\"$id\":\"1\",\"Channels\":8,\"WindowLength\":16,\"HiddenSize\":8,\"LatentSize\":4}" },
        { "model", "{\"$ref\":\"1\"}" },
        { "threshold", "{\"$type\":\"System.IO.FileInfo, System.IO.FileSystem\",\"Method\":\"percentile:99.9\",\"Value\":1.5,\"FittedOnSteps\":10}" },
        { "provenance", "{\"$type\":\"System.Diagnostics.ProcessStartInfo\",\"FileName\":\"/bin/sh\",\"Arguments\":\"-c touch /tmp/pwned\"}" },
        { "normaliser", "{\"__type\":\"System.Object\",\"$values\":[1,2]}" },
    };

    [Theory]
    [MemberData(nameof(TypeDirectives))]
    public void Load_TypeDirectivesInMetadata_IgnoredOrRefused_NeverOtherTypes(string key, string json)
    {
        using var dir = new TempDir();
        string path = UntrustedModelFiles.Rewrite(dir.File("typed.parquet"), key, json);

        TrainedModel? model = null;
        var e = Record.Exception(() => model = ModelFile.Load(path));

        if (e is null)
        {
            Assert.IsType<ModelConfig>(model!.Model);
            Assert.IsType<ThresholdInfo>(model.Threshold);
            Assert.Equal(UntrustedModelFiles.Parts().Value, model.Parameters);
        }
        else
        {
            Assert.IsType<SparkAnomalyException>(e);
            Assert.Contains("typed.parquet", e.Message);
        }
        Assert.False(File.Exists("/tmp/pwned"));
    }

    [Fact]
    public void MetadataRecords_HaveNoPolymorphicMembers()
    {
        // Loading deserialises these four sealed records only; a member typed object, interface or
        // abstract class would be where a type directive could bring in another type.
        var roots = new[] { typeof(ModelConfig), typeof(Normaliser), typeof(ThresholdInfo), typeof(SparkAnomaly.Scoring.TrainingProvenance) };
        foreach (var t in roots)
        {
            Assert.True(t.IsSealed, $"{t.Name} is sealed");
            Assert.Empty(t.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonPolymorphicAttribute), inherit: true));
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var type = p.PropertyType.IsArray ? p.PropertyType.GetElementType()! : p.PropertyType;
                // A concrete string-keyed dictionary of primitives cannot carry a type either.
                if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) && type.GetGenericArguments()[0] == typeof(string))
                {
                    type = type.GetGenericArguments()[1];
                }
                type = Nullable.GetUnderlyingType(type) ?? type;
                Assert.True(type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal),
                    $"{t.Name}.{p.Name} is {p.PropertyType.Name}: only primitives, enums and strings may be deserialised from a model file");
            }
        }
    }

    [Fact]
    public void Load_EverySingleByteFlip_RefusedOrHarmless()
    {
        // Flip each byte of the file in turn (every 11th byte, to keep it quick): the load must either refuse with
        // a SparkAnomalyException or return exactly the original parameters. No other exception, no silent change.
        using var dir = new TempDir();
        var good = UntrustedModelFiles.GoodModelBytes;
        var original = UntrustedModelFiles.Parts().Value;
        string path = dir.File("flip.parquet");
        int refused = 0, harmless = 0;
        var unexpected = new List<string>();
        for (int i = 0; i < good.Length; i += 11)
        {
            var bytes = good.ToArray();
            bytes[i] ^= 0xFF;
            File.WriteAllBytes(path, bytes);
            try
            {
                var m = ModelFile.Load(path);
                if (m.Parameters.AsSpan().SequenceEqual(original))
                {
                    harmless++;
                }
                else
                {
                    unexpected.Add($"byte {i}: loaded with different parameters");
                }
            }
            catch (SparkAnomalyException)
            {
                refused++;
            }
            catch (Exception e)
            {
                unexpected.Add($"byte {i}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected.Take(20)));
        Assert.True(refused > harmless, $"{refused} refused, {harmless} harmless");
    }
}
