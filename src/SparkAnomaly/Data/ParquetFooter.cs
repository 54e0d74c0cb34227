using System.Buffers.Binary;

namespace SparkAnomaly.Data;

/// <summary>
/// Checks a Parquet file's frame before Parquet.Net reads it: "PAR1" at both ends and a footer length
/// that fits inside the file. Parquet.Net allocates the declared footer length up front, so an
/// unchecked length field is an out-of-memory crash waiting for a corrupt or crafted file. Throws
/// <see cref="InvalidDataException"/>, which the readers wrap with the file name and what to do.
/// </summary>
internal static class ParquetFooter
{
    public static void Check(Stream stream)
    {
        long length = stream.Length;
        Span<byte> head = stackalloc byte[4];
        Span<byte> tail = stackalloc byte[8];
        if (length < 12)
        {
            throw new InvalidDataException($"the file is {length} bytes, too short to be Parquet");
        }
        stream.Position = 0;
        stream.ReadExactly(head);
        stream.Position = length - 8;
        stream.ReadExactly(tail);
        stream.Position = 0;
        if (!head.SequenceEqual("PAR1"u8) || !tail[4..].SequenceEqual("PAR1"u8))
        {
            throw new InvalidDataException("the file does not start and end with the Parquet magic 'PAR1'");
        }
        long footer = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (footer <= 0 || footer > length - 12)
        {
            throw new InvalidDataException($"the footer length field says {footer} bytes but the file holds {length}");
        }
    }
}
