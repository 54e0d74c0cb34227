using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace SparkAnomaly.Data;

/// <summary>Allocation-free parsing of UTF-8 cell text, shared by the CSV and Parquet readers.</summary>
internal static class TextValues
{
    /// <summary>Values with a larger magnitude are treated like infinity (missing).</summary>
    public const float HugeLimit = 1e30f;

    private static readonly DateTime s_unixEpoch = new(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public enum CellState
    {
        Ok,
        Missing,
        Invalid,
    }

    /// <summary>
    /// Parses a channel cell: a finite float with |x| &lt;= 1e30 is <see cref="CellState.Ok"/>; empty,
    /// NaN, Inf, Infinity, null, NA (any case, any sign) and huge values are <see cref="CellState.Missing"/>.
    /// </summary>
    public static CellState ParseChannel(ReadOnlySpan<byte> text, out float value)
    {
        if (float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            if (float.IsFinite(value) && Math.Abs(value) <= HugeLimit)
            {
                return CellState.Ok;
            }
            value = float.NaN;
            return CellState.Missing;
        }
        value = float.NaN;
        return IsMissingWord(text) ? CellState.Missing : CellState.Invalid;
    }

    public static bool IsMissingWord(ReadOnlySpan<byte> text)
    {
        text = Trim(text);
        if (text.Length > 0 && (text[0] == (byte)'+' || text[0] == (byte)'-'))
        {
            text = text[1..];
        }
        return text.Length == 0
            || EqualsIgnoreCase(text, "nan"u8)
            || EqualsIgnoreCase(text, "inf"u8)
            || EqualsIgnoreCase(text, "infinity"u8)
            || EqualsIgnoreCase(text, "null"u8)
            || EqualsIgnoreCase(text, "na"u8);
    }

    /// <summary>Label: 0/1 (also 0.0/1.0, true/false); empty means unlabelled. False for anything else.</summary>
    public static bool TryParseLabel(ReadOnlySpan<byte> text, out sbyte label)
    {
        text = Trim(text);
        label = Series.NoLabel;
        if (text.Length == 0)
        {
            return true;
        }
        if (EqualsIgnoreCase(text, "true"u8))
        {
            label = 1;
            return true;
        }
        if (EqualsIgnoreCase(text, "false"u8))
        {
            label = 0;
            return true;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            if (d == 0)
            {
                label = 0;
                return true;
            }
            if (d == 1)
            {
                label = 1;
                return true;
            }
        }
        return false;
    }

    public static bool TryParseSplit(ReadOnlySpan<byte> text, out RowSplit split)
    {
        text = Trim(text);
        split = RowSplit.Unspecified;
        if (text.Length == 0)
        {
            return true;
        }
        if (EqualsIgnoreCase(text, "train"u8))
        {
            split = RowSplit.Train;
            return true;
        }
        if (EqualsIgnoreCase(text, "test"u8))
        {
            split = RowSplit.Test;
            return true;
        }
        return false;
    }

    /// <summary>An integer timestamp (steps or epoch), optionally surrounded by spaces.</summary>
    public static bool TryParseInteger(ReadOnlySpan<byte> text, out long value)
    {
        text = Trim(text);
        return Utf8Parser.TryParse(text, out value, out int consumed) && consumed == text.Length && text.Length > 0;
    }

    /// <summary>
    /// ISO 8601 date-time as Unix microseconds, UTC. Text without an offset is UTC. A fast path handles
    /// <c>yyyy-MM-dd[T| ]HH:mm:ss[.fffffff][Z|±hh:mm]</c>; anything else goes through
    /// <see cref="DateTimeOffset.TryParse(ReadOnlySpan{char}, IFormatProvider?, DateTimeStyles, out DateTimeOffset)"/>.
    /// </summary>
    public static bool TryParseDateTime(ReadOnlySpan<byte> text, out long unixMicros)
    {
        text = Trim(text);
        if (TryParseIsoFast(text, out unixMicros))
        {
            return true;
        }
        unixMicros = 0;
        if (text.Length == 0 || text.Length > 64)
        {
            return false;
        }
        Span<char> chars = stackalloc char[64];
        int n;
        try
        {
            n = Encoding.UTF8.GetChars(text, chars);
        }
        catch (ArgumentException)
        {
            return false;
        }
        if (!DateTimeOffset.TryParse(chars[..n], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var dto))
        {
            return false;
        }
        unixMicros = (dto.UtcTicks - s_unixEpoch.Ticks) / 10;
        return true;
    }

    public static long ToUnixMicros(DateTime dt)
    {
        if (dt.Kind == DateTimeKind.Local)
        {
            dt = dt.ToUniversalTime();
        }
        return (dt.Ticks - s_unixEpoch.Ticks) / 10;
    }

    private static bool TryParseIsoFast(ReadOnlySpan<byte> s, out long unixMicros)
    {
        unixMicros = 0;
        if (s.Length < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        {
            return false;
        }
        if (!Digits(s, 0, 4, out int year) || !Digits(s, 5, 2, out int month) || !Digits(s, 8, 2, out int day)
            || !Digits(s, 11, 2, out int hour) || !Digits(s, 14, 2, out int minute) || !Digits(s, 17, 2, out int second))
        {
            return false;
        }
        if (year < 1 || month < 1 || month > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }
        int i = 19;
        long fractionTicks = 0;
        if (i < s.Length && (s[i] == '.' || s[i] == ','))
        {
            i++;
            int start = i;
            long scale = TimeSpan.TicksPerSecond;
            while (i < s.Length && s[i] >= '0' && s[i] <= '9')
            {
                scale /= 10;
                fractionTicks += (s[i] - '0') * scale;
                i++;
            }
            if (i == start)
            {
                return false;
            }
        }
        long offsetTicks = 0;
        if (i < s.Length)
        {
            if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.Length)
            {
                i++;
            }
            else if ((s[i] == '+' || s[i] == '-') && (s.Length - i == 6 || s.Length - i == 5 || s.Length - i == 3))
            {
                int sign = s[i] == '-' ? -1 : 1;
                int oh, om = 0;
                bool ok = Digits(s, i + 1, 2, out oh);
                if (s.Length - i == 6)
                {
                    ok &= s[i + 3] == ':' && Digits(s, i + 4, 2, out om);
                }
                else if (s.Length - i == 5)
                {
                    ok &= Digits(s, i + 3, 2, out om);
                }
                if (!ok || oh > 23 || om > 59)
                {
                    return false;
                }
                offsetTicks = sign * (oh * TimeSpan.TicksPerHour + om * TimeSpan.TicksPerMinute);
                i = s.Length;
            }
            else
            {
                return false;
            }
        }
        long ticks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks + fractionTicks - offsetTicks;
        unixMicros = (ticks - s_unixEpoch.Ticks) / 10;
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        for (int k = start; k < start + count; k++)
        {
            int d = s[k] - '0';
            if ((uint)d > 9)
            {
                return false;
            }
            value = value * 10 + d;
        }
        return true;
    }

    public static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> text)
    {
        int a = 0;
        int b = text.Length;
        while (a < b && (text[a] == ' ' || text[a] == '\t'))
        {
            a++;
        }
        while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t'))
        {
            b--;
        }
        return text[a..b];
    }

    private static bool EqualsIgnoreCase(ReadOnlySpan<byte> text, ReadOnlySpan<byte> lowerWord)
    {
        if (text.Length != lowerWord.Length)
        {
            return false;
        }
        for (int k = 0; k < text.Length; k++)
        {
            if ((text[k] | 0x20) != lowerWord[k])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A cell value quoted for a one-line message: control characters escaped, long values cut.</summary>
    public static string Show(ReadOnlySpan<byte> text)
    {
        string s;
        try
        {
            s = new UTF8Encoding(false, true).GetString(text);
        }
        catch (DecoderFallbackException)
        {
            s = Convert.ToHexString(text[..Math.Min(text.Length, 24)]);
        }
        return Show(s);
    }

    public static string Show(string? s)
    {
        if (s is null)
        {
            return "null";
        }
        var sb = new StringBuilder(Math.Min(s.Length, 48) + 2);
        sb.Append('\'');
        foreach (char ch in s)
        {
            if (sb.Length > 41)
            {
                sb.Append("...");
                break;
            }
            sb.Append(ch switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(ch) => "?",
                _ => ch.ToString(),
            });
        }
        sb.Append('\'');
        return sb.ToString();
    }
}
