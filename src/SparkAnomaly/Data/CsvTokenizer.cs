using System.Runtime.CompilerServices;
using System.Text.Unicode;

namespace SparkAnomaly.Data;

/// <summary>
/// RFC 4180 records from a UTF-8 byte stream, one record at a time, fields as spans over one reused
/// buffer (no per-cell allocation). Quoted fields may hold delimiters, newlines and doubled quotes;
/// they are unescaped in place. Blank lines are skipped. Non-UTF-8 bytes are an error.
/// </summary>
internal sealed class CsvTokenizer
{
    private readonly Stream _stream;
    private readonly string _path;
    private byte[] _buf = new byte[1 << 20];
    private int _pos;
    private int _end;
    private bool _eof;
    private byte _delim;
    private int[] _fieldStart = new int[64];
    private int[] _fieldLength = new int[64];
    private long _nextLine = 1;

    public CsvTokenizer(Stream stream, string path)
    {
        _stream = stream;
        _path = path;
        Fill();
        if (_end >= 2 && ((_buf[0] == 0xFF && _buf[1] == 0xFE) || (_buf[0] == 0xFE && _buf[1] == 0xFF)))
        {
            throw new SparkAnomalyException($"'{path}' is UTF-16 encoded. Save it as UTF-8 (with or without BOM) and read it again.");
        }
        if (_end >= 2 && _buf[0] == 0x1F && _buf[1] == 0x8B)
        {
            throw new SparkAnomalyException($"'{path}' is gzip-compressed. Decompress it first (gunzip), or convert it to Parquet, and read it again.");
        }
        if (_end >= 4 && _buf[0] == (byte)'P' && _buf[1] == (byte)'K' && _buf[2] == 3 && _buf[3] == 4)
        {
            throw new SparkAnomalyException($"'{path}' is a zip archive. Extract the CSV file from it and read that.");
        }
        var head = _buf.AsSpan(0, _end);
        if (head.IndexOf((byte)'\r') >= 0 && head.IndexOf((byte)'\n') < 0)
        {
            // Otherwise the whole file is one header line, and the message would say it has no data rows.
            throw new SparkAnomalyException($"'{path}' ends its lines with a carriage return alone (old Mac format). Convert the line ends to LF, e.g. tr '\\r' '\\n' < old.csv > new.csv.");
        }
        if (_end >= 3 && _buf[0] == 0xEF && _buf[1] == 0xBB && _buf[2] == 0xBF)
        {
            _pos = 3;
        }
    }

    public int FieldCount { get; private set; }

    /// <summary>Physical (1-based) line where the current record starts.</summary>
    public long Line { get; private set; }

    public byte Delimiter
    {
        get => _delim;
        set => _delim = value;
    }

    public ReadOnlySpan<byte> Field(int i) => _buf.AsSpan(_fieldStart[i], _fieldLength[i]);

    /// <summary>The most frequent of , ; \t | outside quotes in the first non-blank line (comma on a tie or none).</summary>
    public byte DetectDelimiter()
    {
        ReadOnlySpan<byte> candidates = ",;\t|"u8;
        Span<int> counts = stackalloc int[candidates.Length];
        int i = _pos;
        while (true)
        {
            if (i >= _end)
            {
                if (_eof || !MakeRoom(ref i))
                {
                    break;
                }
                continue;
            }
            byte b = _buf[i];
            if (b == '\n' && counts.IndexOfAnyExcept(0) >= 0)
            {
                break;
            }
            int k = candidates.IndexOf(b);
            if (k >= 0)
            {
                counts[k]++;
            }
            else if (b == '"')
            {
                // Skip the quoted part (a doubled quote just closes and reopens).
                i++;
                while (true)
                {
                    if (i >= _end && (_eof || !MakeRoom(ref i)))
                    {
                        break;
                    }
                    if (_buf[i] == '"')
                    {
                        break;
                    }
                    i++;
                }
            }
            i++;
            if (i - _pos > 1 << 20)
            {
                break;
            }
        }
        int best = 0;
        for (int k = 1; k < counts.Length; k++)
        {
            if (counts[k] > counts[best])
            {
                best = k;
            }
        }
        return candidates[best];
    }

    /// <summary>Makes more data available when scanning ahead from <paramref name="i"/> (which is rebased).</summary>
    private bool MakeRoom(ref int i)
    {
        int shift = _pos;
        int before = _end;
        Fill();
        i -= shift - _pos;
        return _end > before - shift || !_eof;
    }

    /// <summary>Reads the next non-blank record; false at the end of the stream.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Next()
    {
        while (true)
        {
            int scan = _pos;
            bool quoted = false;
            int recordEnd;
            int next;
            long newlines;
            while (true)
            {
                if (TryFindEnd(ref scan, ref quoted, out recordEnd, out next, out newlines))
                {
                    break;
                }
                if (_eof)
                {
                    if (quoted)
                    {
                        throw new SparkAnomalyException(
                            $"'{_path}' line {_nextLine}: a quoted field is never closed (file ends inside quotes). Close the quote or escape inner quotes by doubling them (\"\").");
                    }
                    if (_pos >= _end)
                    {
                        return false;
                    }
                    recordEnd = _end;
                    next = _end;
                    newlines = 0;
                    break;
                }
                int shift = _pos;
                Fill();
                scan -= shift - _pos;
            }
            Line = _nextLine;
            _nextLine += newlines + (next > recordEnd ? 1 : 0);
            int start = _pos;
            _pos = next;
            int end = recordEnd;
            if (end > start && _buf[end - 1] == '\r')
            {
                end--;
            }
            if (end == start)
            {
                continue;
            }
            var bytes = _buf.AsSpan(start, end - start);
            if (!Utf8.IsValid(bytes))
            {
                throw new SparkAnomalyException(
                    $"'{_path}' line {Line}: the text is not valid UTF-8. Re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8).");
            }
            Split(start, end);
            return true;
        }
    }

    /// <summary>
    /// Finds the end of the record that starts at <see cref="_pos"/>, continuing from <paramref name="scan"/>.
    /// False when more data is needed (state is kept in <paramref name="scan"/> and <paramref name="quoted"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryFindEnd(ref int scan, ref bool quoted, out int recordEnd, out int next, out long newlines)
    {
        newlines = 0;
        while (scan < _end)
        {
            if (!quoted)
            {
                int k = _buf.AsSpan(scan, _end - scan).IndexOfAny((byte)'\n', (byte)'"');
                if (k < 0)
                {
                    scan = _end;
                    break;
                }
                scan += k;
                if (_buf[scan] == '\n')
                {
                    recordEnd = scan;
                    next = scan + 1;
                    newlines = CountNewlines(_pos, scan);
                    return true;
                }
                quoted = true;
                scan++;
            }
            else
            {
                int k = _buf.AsSpan(scan, _end - scan).IndexOf((byte)'"');
                if (k < 0)
                {
                    scan = _end;
                    break;
                }
                scan += k + 1;
                quoted = false;
            }
        }
        recordEnd = -1;
        next = -1;
        return false;
    }

    private long CountNewlines(int from, int to)
    {
        // Newlines inside quoted fields (the record's own newline is not in [from, to)).
        var span = _buf.AsSpan(from, to - from);
        return span.IndexOf((byte)'"') < 0 ? 0 : span.Count((byte)'\n');
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Split(int start, int end)
    {
        int count = 0;
        var line = _buf.AsSpan(start, end - start);
        if (line.IndexOf((byte)'"') < 0)
        {
            int p = start;
            while (true)
            {
                int k = _buf.AsSpan(p, end - p).IndexOf(_delim);
                int fieldEnd = k < 0 ? end : p + k;
                Add(ref count, p, fieldEnd - p);
                if (k < 0)
                {
                    break;
                }
                p = fieldEnd + 1;
            }
        }
        else
        {
            int p = start;
            while (true)
            {
                int fieldStart = p;
                int w = p;
                if (p < end && _buf[p] == '"')
                {
                    // Quoted: copy the content down over the opening quote, turning "" into ".
                    p++;
                    while (p < end)
                    {
                        if (_buf[p] == '"')
                        {
                            if (p + 1 < end && _buf[p + 1] == '"')
                            {
                                _buf[w++] = (byte)'"';
                                p += 2;
                                continue;
                            }
                            p++;
                            break;
                        }
                        _buf[w++] = _buf[p++];
                    }
                    // Anything between the closing quote and the delimiter is kept as is.
                    while (p < end && _buf[p] != _delim)
                    {
                        _buf[w++] = _buf[p++];
                    }
                }
                else
                {
                    while (p < end && _buf[p] != _delim)
                    {
                        p++;
                    }
                    w = p;
                }
                Add(ref count, fieldStart, w - fieldStart);
                if (p >= end)
                {
                    break;
                }
                p++;
            }
        }
        FieldCount = count;
    }

    private void Add(ref int count, int start, int length)
    {
        if (count == _fieldStart.Length)
        {
            Array.Resize(ref _fieldStart, count * 2);
            Array.Resize(ref _fieldLength, count * 2);
        }
        _fieldStart[count] = start;
        _fieldLength[count] = length;
        count++;
    }

    /// <summary>Moves unread bytes to the front (growing the buffer when full) and reads more.</summary>
    private void Fill()
    {
        if (_eof)
        {
            return;
        }
        if (_pos > 0)
        {
            Buffer.BlockCopy(_buf, _pos, _buf, 0, _end - _pos);
            _end -= _pos;
            _pos = 0;
        }
        if (_end == _buf.Length)
        {
            Array.Resize(ref _buf, _buf.Length * 2);
        }
        int n;
        try
        {
            n = _stream.Read(_buf, _end, _buf.Length - _end);
        }
        catch (IOException e)
        {
            throw new SparkAnomalyException($"'{_path}' could not be read: {e.Message}. Check that the file is readable and not being written to.", e);
        }
        if (n == 0)
        {
            _eof = true;
        }
        _end += n;
    }
}
