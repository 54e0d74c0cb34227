using System.Text;
using Parquet;
using Parquet.Schema;

namespace SparkAnomaly.Tests.Data;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TemporaryDirectory : IDisposable
{
    public TemporaryDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sa-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name, string content)
    {
        string p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        System.IO.File.WriteAllText(p, content, new UTF8Encoding(false));
        return p;
    }

    public string Bytes(string name, byte[] content)
    {
        string p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        System.IO.File.WriteAllBytes(p, content);
        return p;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The shared real data sets (../shared/data next to the repository root).</summary>
internal static class SharedData
{
    public static string? Find(string relative)
    {
        string p = System.IO.Path.Combine(TestPaths.SharedData, relative);
        return System.IO.File.Exists(p) ? p : null;
    }
}

/// <summary>One Parquet column to write: a field and its values (an array of the field's CLR type).</summary>
internal sealed record PqColumn(DataField Field, Array Values);

/// <summary>Writes small Parquet files with Parquet.Net's low-level row-group API.</summary>
internal static class ParquetFiles
{
    public static void Write(string path, params PqColumn[][] rowGroups)
    {
        var schema = new ParquetSchema(rowGroups[0].Select(c => (Field)c.Field).ToArray());
        WriteAsync(path, schema, rowGroups).GetAwaiter().GetResult();
    }

    private static async Task WriteAsync(string path, ParquetSchema schema, PqColumn[][] rowGroups)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var fs = System.IO.File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, fs);
        foreach (var columns in rowGroups)
        {
            using var rg = writer.CreateRowGroup();
            for (int i = 0; i < columns.Length; i++)
            {
                // Row groups after the first pass their own field objects; write with the schema's.
                await WriteColumn(rg, columns[i] with { Field = schema.DataFields[i] });
            }
            rg.CompleteValidate();
        }
    }

    private static Task WriteColumn(ParquetRowGroupWriter rg, PqColumn c) => c.Values switch
    {
        string[] s => rg.WriteAsync(c.Field, s),
        float[] a => rg.WriteAsync<float>(c.Field, a),
        float?[] a => rg.WriteAsync<float>(c.Field, a),
        double[] a => rg.WriteAsync<double>(c.Field, a),
        double?[] a => rg.WriteAsync<double>(c.Field, a),
        int[] a => rg.WriteAsync<int>(c.Field, a),
        int?[] a => rg.WriteAsync<int>(c.Field, a),
        long[] a => rg.WriteAsync<long>(c.Field, a),
        decimal[] a => rg.WriteAsync<decimal>(c.Field, a),
        DateTime[] a => rg.WriteAsync<DateTime>(c.Field, a),
        _ => throw new NotSupportedException(c.Values.GetType().Name),
    };

    public static PqColumn Strings(string name, params string[] v) => new(new DataField<string>(name), v);

    public static PqColumn Floats(string name, params float[] v) => new(new DataField<float>(name), v);

    public static PqColumn NullableFloats(string name, params float?[] v) => new(new DataField<float?>(name), v);

    public static PqColumn Doubles(string name, params double[] v) => new(new DataField<double>(name), v);

    public static PqColumn Ints(string name, params int[] v) => new(new DataField<int>(name), v);

    public static PqColumn NullableInts(string name, params int?[] v) => new(new DataField<int?>(name), v);

    public static PqColumn Longs(string name, params long[] v) => new(new DataField<long>(name), v);

    public static PqColumn Decimals(string name, params decimal[] v) => new(new DecimalDataField(name, 12, 4), v);

    public static PqColumn Times(string name, params DateTime[] v) => new(new DateTimeDataField(name, DateTimeFormat.DateAndTimeMicros), v);
}
