using System.Numerics;
using System.Runtime.Intrinsics;
using System.Text.Json;
using System.Text.Unicode;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// The first look at a feed line: its <c>result.id</c> and <c>meta.updatedAt</c>, which is all change
/// detection needs, read in one pass of a <see cref="Utf8JsonReader"/> that builds no document and no
/// string but the id. A warm sync skips most lines on these two values alone, so most lines are never
/// parsed further.
/// </summary>
/// <remarks>
/// The scan is at least as strict as <see cref="ProductParser.Parse"/>: it accepts a line only if it is
/// valid UTF-8 and valid JSON and passes every check <c>Parse</c> makes, so a line it accepts always
/// parses, to the same id and updatedAt. When in doubt (a line <c>Parse</c> would reject, or one whose
/// <c>meta</c>, <c>result</c> or checked fields appear twice) it declines and the caller asks <c>Parse</c>,
/// which gives the dead letter's reason.
/// </remarks>
internal static class ProductScanner
{
    public static bool TryScan(ReadOnlySpan<byte> line, out string id, out long updatedAt)
    {
        id = "";
        updatedAt = 0;
        if (!Utf8.IsValid(line) || MayNotBeJsonb(line))
        {
            return false;
        }

        try
        {
            return Scan(line, ref id, ref updatedAt);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the line holds a <c>\u0000</c> or surrogate (<c>\uD800</c>-<c>\uDFFF</c>) escape: left to
    /// <see cref="ProductParser.Parse"/>, which sets the line aside when the escape is U+0000 in a column or half a pair, and
    /// reads it when it is a whole pair. The scan skips most fields, so it could not tell, and a line it accepts must parse.
    /// Lines without <c>\u</c> (nearly all) cost one search.
    /// </summary>
    internal static bool MayHoldUnstorableEscape(ReadOnlySpan<byte> line)
    {
        for (var at = line.IndexOf("\\u"u8); at >= 0; at = line.IndexOf("\\u"u8))
        {
            line = line[(at + 2)..];
            if (line.Length >= 4 && (line[..4].SequenceEqual("0000"u8) || (line[0] is (byte)'d' or (byte)'D' && IsSurrogateSecondDigit(line[1]))))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether the line may hold what PostgreSQL's jsonb refuses: an escape <see cref="MayHoldUnstorableEscape"/> finds or a
    /// number <see cref="MayHoldUnstorableNumber"/> finds. Such a line is left to <see cref="ProductParser.Parse"/>, which
    /// decides exactly (the scan skips most fields, so it could not tell, and a line it accepts must parse).
    /// </summary>
    internal static bool MayNotBeJsonb(ReadOnlySpan<byte> line) => MayHoldUnstorableEscape(line) || MayHoldUnstorableNumber(line);

    /// <summary>
    /// A run of more digits than this is the only way a number with an exponent of at most 4 digits (which moves the point
    /// by at most 9,999 places) can leave numeric's range: 16,383 digits after the point at most (16,383 − 9,999 = 6,384).
    /// </summary>
    private const int LongestHarmlessDigitRun = 6_384;

    /// <summary>
    /// Whether the line may hold a number PostgreSQL's <c>numeric</c> (what jsonb keeps a number as) cannot hold: an exponent
    /// of 5 or more digits (<c>1e1000000</c>, <c>1e-16384</c>) that ends where a value may, or a run of more than 6,384
    /// digits. Either may be inside a string too (then the parser reads the line and stores it). A number out of range has
    /// one of the two: numeric takes up to 131,072 digits before the point and 16,383 after it. Lines of 6,384 bytes or
    /// fewer (nearly all) cost one vectorized pass that looks for an <c>e</c> or <c>E</c> just after a digit.
    /// </summary>
    internal static bool MayHoldUnstorableNumber(ReadOnlySpan<byte> line)
    {
        for (var at = NextExponentMark(line, 1); at >= 0; at = NextExponentMark(line, at + 1))
        {
            var digits = line[(at + 1)..];
            if (!digits.IsEmpty && digits[0] is (byte)'+' or (byte)'-')
            {
                digits = digits[1..];
            }

            // A number ends where a value may (an id such as "M3E12345A" or "3E12345" in a string is not one).
            var end = digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9');
            if (end < 0 ? digits.Length >= 5 : end >= 5 && digits[end] is (byte)',' or (byte)'}' or (byte)']' or (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                return true;
            }
        }

        return line.Length > LongestHarmlessDigitRun && HasDigitRunLongerThan(line, LongestHarmlessDigitRun);
    }

    /// <summary>The index (from <paramref name="from"/>, at least 1) of the next <c>e</c> or <c>E</c> whose byte before is a digit, or -1.</summary>
    private static int NextExponentMark(ReadOnlySpan<byte> line, int from)
    {
        var at = from;
        if (Vector128.IsHardwareAccelerated)
        {
            var lower = Vector128.Create((byte)0x20);
            var e = Vector128.Create((byte)'e');
            var zero = Vector128.Create((byte)'0');
            var ten = Vector128.Create((byte)10);
            for (; at + Vector128<byte>.Count <= line.Length; at += Vector128<byte>.Count)
            {
                var current = Vector128.Create(line.Slice(at, Vector128<byte>.Count));
                var before = Vector128.Create(line.Slice(at - 1, Vector128<byte>.Count));
                var marks = Vector128.Equals(current | lower, e) & Vector128.LessThan(before - zero, ten);
                if (marks != Vector128<byte>.Zero)
                {
                    return at + BitOperations.TrailingZeroCount(marks.ExtractMostSignificantBits());
                }
            }
        }

        for (; at < line.Length; at++)
        {
            if ((line[at] | 0x20) == 'e' && (uint)(line[at - 1] - '0') <= 9)
            {
                return at;
            }
        }

        return -1;
    }

    private static bool HasDigitRunLongerThan(ReadOnlySpan<byte> line, int length)
    {
        for (var start = line.IndexOfAnyInRange((byte)'0', (byte)'9'); start >= 0 && line.Length - start > length; start = line.IndexOfAnyInRange((byte)'0', (byte)'9'))
        {
            line = line[start..];
            var end = line.IndexOfAnyExceptInRange((byte)'0', (byte)'9');
            if ((end < 0 ? line.Length : end) > length)
            {
                return true;
            }

            line = line[end..];
        }

        return false;
    }

    private static bool IsSurrogateSecondDigit(byte digit) => digit is (>= (byte)'8' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F');

    private static bool Scan(ReadOnlySpan<byte> line, ref string id, ref long updatedAt)
    {
        var reader = new Utf8JsonReader(line, isFinalBlock: true, state: default);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        bool meta = false, result = false, hasUpdated = false, hasId = false;
        long? createdAt = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("meta"u8))
            {
                if (meta || !reader.Read() || reader.TokenType != JsonTokenType.StartObject || !ReadMeta(ref reader, ref updatedAt, ref hasUpdated, ref createdAt))
                {
                    return false;
                }

                meta = true;
            }
            else if (reader.ValueTextEquals("result"u8))
            {
                if (result || !reader.Read() || reader.TokenType != JsonTokenType.StartObject || !ScanResult(ref reader, ref id, ref hasId))
                {
                    return false;
                }

                result = true;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        // The root object has ended; anything after it is an error the reader reports on the next read.
        while (reader.Read())
        {
        }

        return meta && result && hasUpdated && hasId;
    }

    /// <summary>
    /// Reads the meta object: updatedAt an integer, createdAt absent, null or an integer, each at most once
    /// (the parser's rules). Shared with <see cref="ProductColumnWriter"/>, which writes createdAt too.
    /// </summary>
    internal static bool ReadMeta(ref Utf8JsonReader reader, ref long updatedAt, ref bool hasUpdated, ref long? createdAt)
    {
        var hasCreated = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("updatedAt"u8))
            {
                if (hasUpdated || !reader.Read() || reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out updatedAt))
                {
                    return false;
                }

                hasUpdated = true;
            }
            else if (reader.ValueTextEquals("createdAt"u8))
            {
                if (hasCreated || !reader.Read())
                {
                    return false;
                }

                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var created))
                {
                    createdAt = created;
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    return false;
                }

                hasCreated = true;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return reader.TokenType == JsonTokenType.EndObject;
    }

    /// <summary>Reads the result object: id a string of 1 to 200 characters, name a string, object or null, status a string or null, each at most once.</summary>
    private static bool ScanResult(ref Utf8JsonReader reader, ref string id, ref bool hasId)
    {
        bool hasName = false, hasStatus = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                if (hasId || !reader.Read() || reader.TokenType != JsonTokenType.String || reader.GetString() is not { Length: > 0 and <= 200 } value)
                {
                    return false;
                }

                id = value;
                hasId = true;
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                if (hasName || !reader.Read() || reader.TokenType is not (JsonTokenType.String or JsonTokenType.StartObject or JsonTokenType.Null))
                {
                    return false;
                }

                reader.Skip();
                hasName = true;
            }
            else if (reader.ValueTextEquals("status"u8))
            {
                if (hasStatus || !reader.Read() || reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
                {
                    return false;
                }

                hasStatus = true;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return reader.TokenType == JsonTokenType.EndObject;
    }
}
