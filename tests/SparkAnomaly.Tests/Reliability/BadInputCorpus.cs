using System.Text;
using Parquet;
using Parquet.Schema;
using SparkAnomaly.Scoring;
using SparkAnomaly.Tests.Data;
using SparkAnomaly.Tests.Training;

namespace SparkAnomaly.Tests.Reliability;

/// <summary>Files of one corpus case, created in a fresh directory: a good CSV, a good Parquet file, a good model, and the --out path.</summary>
internal sealed class CorpusFiles
{
    public CorpusFiles(string root)
    {
        Root = root;
        Out = Path.Combine(root, "out");
    }

    public string Root { get; }

    public string Out { get; }

    public string File(string name) => Path.Combine(Root, name);

    public string Text(string name, string content)
    {
        string p = File(name);
        System.IO.File.WriteAllText(p, content, new UTF8Encoding(false));
        return p;
    }

    public string Bytes(string name, byte[] content)
    {
        string p = File(name);
        System.IO.File.WriteAllBytes(p, content);
        return p;
    }

    /// <summary>A valid three-channel CSV: two series of 40 steps.</summary>
    public string GoodCsv => Text("good.csv", GoodCsvText());

    public static string GoodCsvText(Func<int, int, string>? cell = null)
    {
        var sb = new StringBuilder("series_id,timestamp,a,b,c\n");
        for (int s = 0; s < 2; s++)
        {
            for (int t = 0; t < 40; t++)
            {
                sb.Append($"s{s},{t},{Math.Sin(t * 0.3 + s):F4},{Math.Cos(t * 0.2):F4},{(t % 7) * 0.1:F2}");
                sb.Append('\n');
            }
        }
        string text = sb.ToString();
        if (cell is null)
        {
            return text;
        }
        var lines = text.Split('\n');
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }
            var f = lines[i].Split(',');
            for (int j = 0; j < f.Length; j++)
            {
                f[j] = cell(i + 1, j) ?? f[j];
            }
            lines[i] = string.Join(',', f);
        }
        return string.Join('\n', lines);
    }

    /// <summary>A valid Parquet version of the good CSV.</summary>
    public string GoodParquet
    {
        get
        {
            string p = File("good.parquet");
            int n = 80;
            ParquetFiles.Write(p, new[]
            {
                ParquetFiles.Strings("series_id", Enumerable.Range(0, n).Select(i => "s" + (i / 40)).ToArray()),
                ParquetFiles.Longs("timestamp", Enumerable.Range(0, n).Select(i => (long)(i % 40)).ToArray()),
                ParquetFiles.Floats("a", Enumerable.Range(0, n).Select(i => (float)Math.Sin(i * 0.3)).ToArray()),
                ParquetFiles.Floats("b", Enumerable.Range(0, n).Select(i => (float)Math.Cos(i * 0.2)).ToArray()),
            });
            return p;
        }
    }

    public byte[] GoodParquetBytes => System.IO.File.ReadAllBytes(GoodParquet);

    public string Config(string json) => Text("config.json", json);

    /// <summary>A valid model.parquet (3 channels a,b,c; window 16), copied into this case's directory.</summary>
    public string GoodModel => Bytes("model.parquet", UntrustedModelFiles.GoodModelBytes);

    /// <summary>The good model re-written with one metadata entry replaced (null removes it).</summary>
    public string ModelWithMetadata(string key, string? value, Func<float[], float[]>? values = null) =>
        UntrustedModelFiles.Rewrite(File("tampered.parquet"), key, value, values);
}

/// <summary>A valid model trained once per test run, and a way to rewrite its metadata as an attacker would.</summary>
internal static class UntrustedModelFiles
{
    private static readonly Lazy<byte[]> s_model = new(() =>
    {
        var data = TrainingFixtures.SmallData(healthy: 2, length: 120);
        var small = new SparkAnomaly.Data.SeriesSet(data.Series, data.ChannelNames, data.TimestampKind, data.Source);
        var run = Detector.Train(small, TrainingFixtures.Tiny(rounds: 1) with { CheckpointEvery = 0 });
        string tmp = Path.Combine(Path.GetTempPath(), $"sa-goodmodel-{Guid.NewGuid():N}.parquet");
        ModelFile.Save(run.Model, tmp);
        var bytes = File.ReadAllBytes(tmp);
        File.Delete(tmp);
        return bytes;
    });

    public static byte[] GoodModelBytes => s_model.Value;

    public static (Dictionary<string, string> Metadata, string?[] Tensor, string?[] Shape, int[] Index, float[] Value) Parts() => PartsAsync().GetAwaiter().GetResult();

    private static async Task<(Dictionary<string, string>, string?[], string?[], int[], float[])> PartsAsync()
    {
        using var ms = new MemoryStream(GoodModelBytes);
        await using var reader = await ParquetReader.CreateAsync(ms);
        using var rg = reader.OpenRowGroupReader(0);
        int n = checked((int)rg.RowCount);
        var f = reader.Schema.DataFields;
        var tensor = new string?[n];
        var shape = new string?[n];
        var index = new int[n];
        var value = new float[n];
        await rg.ReadAsync(f[0], tensor.AsMemory());
        await rg.ReadAsync(f[1], shape.AsMemory());
        await rg.ReadAsync<int>(f[2], index.AsMemory());
        await rg.ReadAsync<float>(f[3], value.AsMemory());
        return (new Dictionary<string, string>(reader.CustomMetadata!), tensor, shape, index, value);
    }

    /// <summary>
    /// The good model with one metadata entry replaced (null removes it). Unless <paramref name="resign"/> is false, the
    /// metadata checksum is recomputed, as anyone editing the file on purpose can: it is no signature, so the checks behind
    /// it (sizes, version, types, score rule) must hold on their own, and these rewrites are what exercises them.
    /// </summary>
    public static string Rewrite(string path, string key, string? value, Func<float[], float[]>? values = null, bool resign = true)
    {
        var (meta, tensor, shape, index, value0) = Parts();
        Assert.True(meta.ContainsKey("sparkanomaly.metadata_checksum"), "the good model carries a metadata checksum");
        if (value is null)
        {
            meta.Remove("sparkanomaly." + key);
        }
        else
        {
            meta["sparkanomaly." + key] = value;
        }
        // With a covered entry removed the load refuses for the missing entry before it looks at the checksum.
        if (resign && meta.ContainsKey("sparkanomaly.metadata_checksum") && ModelFile.MetadataChecksumKeys.All(k => meta.ContainsKey("sparkanomaly." + k)))
        {
            meta["sparkanomaly.metadata_checksum"] = ModelFile.MetadataChecksum(meta);
        }
        var v = values?.Invoke(value0) ?? value0;
        int n = v.Length;
        Write(path, meta, Fit(tensor, n, "x"), Fit(shape, n, "1"), Enumerable.Range(0, n).ToArray(), v);
        return path;
    }

    private static string?[] Fit(string?[] a, int n, string fill) => a.Length >= n ? a[..n] : a.Concat(Enumerable.Repeat(fill, n - a.Length)).ToArray();

    public static void Write(string path, Dictionary<string, string> meta, string?[] tensor, string?[] shape, int[] index, float[] value) =>
        WriteAsync(path, meta, tensor, shape, index, value).GetAwaiter().GetResult();

    private static async Task WriteAsync(string path, Dictionary<string, string> meta, string?[] tensor, string?[] shape, int[] index, float[] value)
    {
        var fields = new DataField[] { new DataField<string>("tensor"), new DataField<string>("shape"), new DataField<int>("index"), new DataField<float>("value") };
        await using var fs = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), fs);
        writer.CustomMetadata = meta;
        using var rg = writer.CreateRowGroup();
        await rg.WriteAsync(fields[0], tensor);
        await rg.WriteAsync(fields[1], shape);
        await rg.WriteAsync<int>(fields[2], index);
        await rg.WriteAsync<float>(fields[3], value);
    }
}
