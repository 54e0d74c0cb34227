using System.Text.Json;
using Microsoft.Spark.Interop.Ipc;
using Microsoft.Spark.Sql;
using SparkAnomaly.Data;
using SparkAnomaly.Training;
using static Microsoft.Spark.Sql.Functions;

namespace SparkAnomaly.Spark;

/// <summary>
/// Driver-side reading and writing through Spark, so that HDFS, S3 and ABFS paths work as Spark resolves
/// them, and the column expressions that bring user data into the task layouts. No fields (closure rules).
/// </summary>
public static class SparkIo
{
    /// <summary>True for a path on the driver's own file system (no scheme, or file:).</summary>
    public static bool IsDriverLocal(string path)
    {
        int colon = path.IndexOf(':');
        return colon < 0 || path.StartsWith("file:", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Parquet, or CSV with a header row, by <paramref name="format"/> or else by the path's extension.</summary>
    public static DataFrame ReadTable(SparkSession spark, string path, string? format)
    {
        string kind = (format ?? (path.TrimEnd('/').EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? "csv" : "parquet")).ToLowerInvariant();
        return kind switch
        {
            "parquet" => spark.Read().Parquet(path),
            "csv" => spark.Read().Option("header", true).Option("inferSchema", true).Csv(path),
            _ => throw new SparkAnomalyException($"--format '{format}' is not supported. Use parquet or csv."),
        };
    }

    /// <summary>Text of a small file (a training config): from the driver's disk, or read through Spark.</summary>
    public static string ReadText(SparkSession spark, string path)
    {
        string local = LocalPath(path);
        if (IsDriverLocal(path) && File.Exists(local))
        {
            return File.ReadAllText(local);
        }
        Row? row = spark.Read().Option("wholetext", true).Text(path).Collect().FirstOrDefault();
        return row?.GetAs<string>(0) ?? throw new SparkAnomalyException($"'{path}' is empty or could not be read. Pass an existing file.");
    }

    /// <summary>
    /// Stores a model file. Driver-local: <c>&lt;out&gt;/model.parquet</c>, written whole then renamed.
    /// Any other scheme (hdfs:, s3a:, abfss:): a one-row Parquet dataset <c>&lt;out&gt;/model</c> holding the
    /// same bytes (<see cref="SparkSchemas.StoredFile"/>), because Microsoft.Spark has no API to write a raw file there.
    /// </summary>
    public static string WriteModel(SparkSession spark, string outDirectory, byte[] modelBytes)
    {
        if (IsDriverLocal(outDirectory))
        {
            string dir = LocalPath(outDirectory);
            Directory.CreateDirectory(dir);
            string target = Path.Combine(dir, "model.parquet");
            AtomicFile.WriteAllBytes(target, modelBytes);
            return target;
        }
        string dataset = outDirectory.TrimEnd('/') + "/model";
        spark.CreateDataFrame(new[] { new GenericRow(new object[] { "model.parquet", modelBytes }) }, SparkSchemas.StoredFile())
            .Coalesce(1)
            .Write()
            .Mode(SaveMode.Overwrite)
            .Parquet(dataset);
        return dataset;
    }

    /// <summary>Reads a model written by <see cref="WriteModel"/>: a driver-local file, or the one-row dataset.</summary>
    public static byte[] ReadModel(SparkSession spark, string path)
    {
        string local = LocalPath(path);
        if (IsDriverLocal(path) && File.Exists(local))
        {
            return File.ReadAllBytes(local);
        }
        if (IsDriverLocal(path) && !Directory.Exists(local))
        {
            throw new SparkAnomalyException($"model '{path}' does not exist. Pass the model.parquet written by training (or, on HDFS/S3/ABFS, its <out>/model dataset).");
        }
        Row? row = spark.Read().Parquet(path).Select("content").Collect().FirstOrDefault();
        return row?.GetAs<byte[]>(0) ?? throw new SparkAnomalyException($"model dataset '{path}' holds no model. Pass the <out>/model written by training.");
    }

    /// <summary>A user column by name, quoted so that dots and spaces are taken literally.</summary>
    public static Column UserColumn(string name) => Col("`" + name.Replace("`", "``", StringComparison.Ordinal) + "`");

    /// <summary>
    /// The time column as a long: Unix microseconds (UTC) for timestamp, timestamp_ntz, date and text columns,
    /// as the library's DateTime timestamps (a timestamp_ntz, a date or text without an offset is read in
    /// spark.sql.session.timeZone); the number itself (cast to long) for numeric columns.
    /// </summary>
    public static Column TimeAsLong(DataFrame input, string column)
    {
        string type = ColumnType(input, column);
        string quoted = "`" + column.Replace("`", "``", StringComparison.Ordinal) + "`";
        return type switch
        {
            "timestamp" => Expr($"unix_micros({quoted})"),
            "timestamp_ntz" or "date" => Expr($"unix_micros(CAST({quoted} AS TIMESTAMP))"),
            "string" => Expr($"unix_micros(to_timestamp({quoted}))"),
            _ => UserColumn(column).Cast("long"),
        };
    }

    /// <summary>True for the Spark types <see cref="TimeAsLong"/> reads as date-times (written back as timestamps).</summary>
    public static bool IsDateTimeType(string sparkType) => sparkType is "timestamp" or "timestamp_ntz" or "date" or "string";

    /// <summary>True for every row the model may train on: all rows, or those whose split is not "test".</summary>
    public static Column Trainable(DataFrame input, string? splitColumn)
    {
        if (string.IsNullOrEmpty(splitColumn) || !ColumnTypes(input).Any(c => c.Name == splitColumn))
        {
            return Lit(true);
        }
        return Coalesce(Lower(Trim(UserColumn(splitColumn).Cast("string"))).NotEqual("test"), Lit(true));
    }

    /// <summary>
    /// (x - Offset[c]) / Scale[c] in single precision, equal to <see cref="Normaliser.ApplyInPlace"/>: float
    /// subtraction, then a division in double of two floats rounded to float (exact, as 53 ≥ 2·24 + 2).
    /// Literals cross the JVM bridge as double and are cast in Spark (a float literal would throw).
    /// </summary>
    public static Column Normalised(Column floatColumn, float offset, float scale) =>
        ((floatColumn - Lit((double)offset).Cast("float")) / Lit((double)scale).Cast("float")).Cast("float");

    /// <summary>Spark type name of a column (see <see cref="ColumnTypes"/>), with a clear error when it is missing.</summary>
    public static string ColumnType(DataFrame input, string column)
    {
        var columns = ColumnTypes(input);
        foreach ((string name, string type) in columns)
        {
            if (name == column)
            {
                return type;
            }
        }
        throw new SparkAnomalyException(
            $"input has no column '{column}' (found: {string.Join(", ", columns.Select(c => c.Name))}). Pass the right name (--series-column, --time-column, --channels).");
    }

    /// <summary>
    /// Each column's name and Spark type name ("timestamp", "timestamp_ntz", "date", "string", "long", "decimal(10,0)";
    /// "array", "struct", "map" for nested types), read from the JVM schema's JSON. Not DataFrame.Schema() or Columns():
    /// Microsoft.Spark 2.3.1 parses the schema into its own DataType classes, which have no timestamp_ntz (the type Spark
    /// 3.4+ infers for Parquet timestamps written without a time zone, as pandas writes them), so those throw for the
    /// whole input as soon as any column has such a type.
    /// </summary>
    public static IReadOnlyList<(string Name, string Type)> ColumnTypes(DataFrame input)
    {
        var schema = (JvmObjectReference)((IJvmObjectReferenceProvider)input).Reference.Invoke("schema");
        return ColumnTypesFromJson((string)schema.Invoke("json"));
    }

    /// <summary>The columns of a Spark StructType's JSON (<c>{"type":"struct","fields":[{"name":…,"type":…},…]}</c>).</summary>
    internal static IReadOnlyList<(string Name, string Type)> ColumnTypesFromJson(string structJson)
    {
        using JsonDocument json = JsonDocument.Parse(structJson);
        return json.RootElement.GetProperty("fields").EnumerateArray()
            .Select(f => (f.GetProperty("name").GetString() ?? "", TypeName(f.GetProperty("type"))))
            .ToArray();

        static string TypeName(JsonElement type) =>
            (type.ValueKind == JsonValueKind.String ? type.GetString() : type.GetProperty("type").GetString()) ?? "";
    }

    private static string LocalPath(string path) =>
        path.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? new Uri(path).LocalPath : path;
}
