using Microsoft.Spark.Sql;
using Microsoft.Spark.Sql.Types;
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
    /// The time column as a long: Unix microseconds (UTC) for timestamp, date and text columns, as the
    /// library's DateTime timestamps; the number itself (cast to long) for numeric columns.
    /// </summary>
    public static Column TimeAsLong(DataFrame input, string column)
    {
        DataType type = FieldType(input, column);
        string quoted = "`" + column.Replace("`", "``", StringComparison.Ordinal) + "`";
        return type switch
        {
            TimestampType => Expr($"unix_micros({quoted})"),
            DateType => Expr($"unix_micros(CAST({quoted} AS TIMESTAMP))"),
            StringType => Expr($"unix_micros(to_timestamp({quoted}))"),
            _ => UserColumn(column).Cast("long"),
        };
    }

    /// <summary>True for every row the model may train on: all rows, or those whose split is not "test".</summary>
    public static Column Trainable(DataFrame input, string? splitColumn)
    {
        if (string.IsNullOrEmpty(splitColumn) || !input.Columns().Contains(splitColumn))
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

    /// <summary>Spark type of a column, with a clear error when it is missing.</summary>
    public static DataType FieldType(DataFrame input, string column)
    {
        StructField? field = input.Schema().Fields.FirstOrDefault(f => f.Name == column);
        return field?.DataType ?? throw new SparkAnomalyException(
            $"input has no column '{column}' (found: {string.Join(", ", input.Columns())}). Pass the right name (--series-column, --time-column, --channels).");
    }

    private static string LocalPath(string path) =>
        path.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? new Uri(path).LocalPath : path;
}
