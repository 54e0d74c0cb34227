using Parquet;

namespace SparkAnomaly.Data;

/// <summary>
/// The one way every reader of a user-supplied Parquet file (data, model, scores, labels) opens it and
/// turns a parser failure into a <see cref="SparkAnomalyException"/>. Parquet.Net reports corrupt bytes
/// with whatever exception its code happens to hit (IOException, ParquetException, Thrift's protocol
/// exception, InvalidOperation, ArgumentOutOfRange from the RLE decoder, IndexOutOfRange, NullReference,
/// Overflow, ...), so a list of types to catch is never complete: a bad file is exit 1, not a bug report.
/// </summary>
internal static class UntrustedParquet
{
    /// <summary>
    /// Runs <paramref name="read"/> on the thread pool (so a caller's synchronisation context cannot
    /// deadlock on it). A <see cref="SparkAnomalyException"/> passes through; any other failure except
    /// <see cref="OutOfMemoryException"/> becomes one whose message is <paramref name="refuse"/> given
    /// <see cref="Reason"/> of the failure. Out-of-memory is left to the caller: on real data it is not
    /// the file's fault, and <see cref="ParquetFooter"/> already bounds the one allocation a file controls
    /// up front.
    /// </summary>
    public static T Read<T>(Func<Task<T>> read, Func<string, string> refuse)
    {
        try
        {
            return Task.Run(read).GetAwaiter().GetResult();
        }
        catch (SparkAnomalyException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new SparkAnomalyException(refuse(Reason(e)), e);
        }
    }

    /// <summary>Opens a Parquet reader on <paramref name="stream"/> after checking its frame (magic and footer length, see <see cref="ParquetFooter"/>).</summary>
    public static async Task<ParquetReader> OpenAsync(Stream stream)
    {
        ParquetFooter.Check(stream);
        return await ParquetReader.CreateAsync(stream).ConfigureAwait(false);
    }

    /// <summary>A failure as one line for a message: its type and text.</summary>
    public static string Reason(Exception e) => $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}";
}
