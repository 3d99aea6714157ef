using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>A feed line read into the <c>products</c> columns; <c>raw</c> stays UTF-8 bytes until it is written (skipped rows never become strings).</summary>
internal sealed record ProductRecord(
    string Id, string? Name, string? Status, string? Organization, string? Brand, string? EanGtin13, string? EanGtin14,
    string? ArtgId, string? Pbs, string? SnomedMpp, string? SnomedTpp, string? Gs1Category, long? CreatedAt, long MetaUpdatedAt, byte[] RawUtf8);

/// <summary>Reads one NDJSON line; a line that is not a usable product gives a reason instead.</summary>
internal static class ProductParser
{
    /// <summary>
    /// The product, or null with the reason it is a dead letter. Besides what is not a product, a line is a dead letter when
    /// a string in it is half a surrogate pair as an escape (<c>"\ud800"</c> alone: no text at all, which System.Text.Json
    /// refuses to read) or when a column's text holds U+0000 (PostgreSQL cannot store it; both stores set it aside the same
    /// way). Before, either made the whole chunk fail on every attempt and be set aside, good lines and all. The same two
    /// escapes in any other field of the result are dead letters too, and so is a number PostgreSQL's numeric cannot hold
    /// anywhere in the result (<see cref="RawNotJsonb"/>).
    /// </summary>
    public static ProductRecord? Parse(ReadOnlyMemory<byte> line, out string? reason)
    {
        ProductRecord? product;
        try
        {
            product = ParseProduct(line, out reason);
        }
        catch (InvalidOperationException)
        {
            reason = HalfSurrogatePair;
            return null;
        }

        if (product is not null && NulColumn(product) is { } field)
        {
            reason = $"result.{field} holds the character U+0000, which the product store cannot keep";
            return null;
        }

        if (product is not null && ProductScanner.MayNotBeJsonb(product.RawUtf8) && RawNotJsonb(product.RawUtf8) is { } rawReason)
        {
            reason = rawReason;
            return null;
        }

        return product;
    }

    private const string HalfSurrogatePair = "a string holds half a surrogate pair (a \\uD800-\\uDFFF escape without its other half), which is not text";

    /// <summary>
    /// Why <c>raw</c> (the result object) cannot be PostgreSQL jsonb, or null: a string or property name, in a field no column
    /// takes, that escapes U+0000 or half a surrogate pair, or a number anywhere that <c>numeric</c> cannot hold
    /// (<see cref="OutOfNumericRange"/>). PostgreSQL's json column keeps such text, but every <c>raw::jsonb</c> (and, for
    /// the escapes, <c>raw -&gt; 'field'</c>) that meets the row then fails the whole query, so the line is a dead letter on
    /// both stores. The field named is the result's top-level one that holds it, as it is written in the feed.
    /// </summary>
    private static string? RawNotJsonb(byte[] raw)
    {
        var reader = new Utf8JsonReader(raw);
        var field = "";
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.Number && OutOfNumericRange(reader.ValueSpan))
            {
                var number = Encoding.UTF8.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 40)]);
                return $"result.{field} holds the number {number}{(reader.ValueSpan.Length > 40 ? "..." : "")}, which the product store cannot keep "
                    + "(PostgreSQL's numeric takes up to 131,072 digits before the point and 16,383 after it)";
            }

            if (reader.TokenType is not (JsonTokenType.PropertyName or JsonTokenType.String))
            {
                continue;
            }

            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                // The name as written (escapes and all), so the reason never holds the character itself.
                field = Encoding.UTF8.GetString(reader.ValueSpan);
                field = field.Length <= 60 ? field : field[..60] + "...";
            }

            if (!reader.ValueIsEscaped)
            {
                continue;
            }

            string text;
            try
            {
                text = reader.GetString()!;
            }
            catch (InvalidOperationException)
            {
                return $"{HalfSurrogatePair} (in result.{field})";
            }

            if (text.Contains('\0', StringComparison.Ordinal))
            {
                return $"result.{field} holds the character U+0000, which the product store cannot keep";
            }
        }

        return null;
    }

    /// <summary>
    /// Whether PostgreSQL's <c>numeric</c> input (which <c>jsonb</c> uses for every number) refuses the JSON number with
    /// "value overflows numeric format": its first significant digit at 10^131072 or above, more than 16,383 digits after
    /// the point as written once the exponent moves it (trailing zeros count: <c>0.</c> and 16,384 zeros fails), or an
    /// exponent of 1,073,741,823 or more either way (even on zero). Checked on PostgreSQL 15 with <c>'1e131071'::jsonb</c>
    /// (read) against <c>1e131072</c>, <c>1e-16383</c> against <c>1e-16384</c> and <c>10e-16384</c>, <c>0e1073741822</c>
    /// against <c>0e1073741823</c>.
    /// </summary>
    internal static bool OutOfNumericRange(ReadOnlySpan<byte> number)
    {
        if (!number.IsEmpty && number[0] == '-')
        {
            number = number[1..];
        }

        var integerLength = number.IndexOfAnyExceptInRange((byte)'0', (byte)'9');
        integerLength = integerLength < 0 ? number.Length : integerLength;
        var integer = number[..integerLength];
        number = number[integerLength..];
        ReadOnlySpan<byte> fraction = [];
        if (!number.IsEmpty && number[0] == '.')
        {
            var fractionLength = number[1..].IndexOfAnyExceptInRange((byte)'0', (byte)'9');
            fraction = number.Slice(1, fractionLength < 0 ? number.Length - 1 : fractionLength);
            number = number[(1 + fraction.Length)..];
        }

        long exponent = 0;
        if (!number.IsEmpty)
        {
            // e or E, a sign, digits: the reader has checked the grammar. Past 10 significant digits it is out of range anyway.
            var negative = number[1] == '-';
            var digits = number[(number[1] is (byte)'-' or (byte)'+' ? 2 : 1)..].TrimStart((byte)'0');
            if (digits.Length > 10)
            {
                return true;
            }

            foreach (var digit in digits)
            {
                exponent = (exponent * 10) + (digit - '0');
            }

            exponent = negative ? -exponent : exponent;
        }

        const long MaxExponent = (int.MaxValue / 2) - 1, MaxScale = 16_383, MaxWeight = 131_071;
        if (Math.Abs(exponent) > MaxExponent || fraction.Length - exponent > MaxScale)
        {
            return true;
        }

        // The power of ten of the first significant digit; a zero has none, and numeric keeps any zero within the scale.
        var first = integer.IndexOfAnyExcept((byte)'0');
        if (first >= 0)
        {
            return integer.Length - 1 - first + exponent > MaxWeight;
        }

        first = fraction.IndexOfAnyExcept((byte)'0');
        return first >= 0 && -(first + 1) + exponent > MaxWeight;
    }

    /// <summary>The feed field of the first column whose text holds U+0000, or null.</summary>
    private static string? NulColumn(ProductRecord p)
    {
        foreach (var (field, text) in (ReadOnlySpan<(string, string?)>)[
            ("id", p.Id), ("name", p.Name), ("status", p.Status), ("organizations", p.Organization), ("brands", p.Brand),
            ("eanGtin13", p.EanGtin13), ("eanGtin14", p.EanGtin14), ("artgId", p.ArtgId), ("pbs", p.Pbs),
            ("snomedMpp", p.SnomedMpp), ("snomedTpp", p.SnomedTpp), ("gs1Category", p.Gs1Category)])
        {
            if (text is not null && text.Contains('\0', StringComparison.Ordinal))
            {
                return field;
            }
        }

        return null;
    }

    private static ProductRecord? ParseProduct(ReadOnlyMemory<byte> line, out string? reason)
    {
        reason = null;
        if (!Utf8.IsValid(line.Span))
        {
            reason = "invalid UTF-8";
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            reason = $"invalid JSON: {Shorten(ex.Message)}";
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                reason = $"the line is a JSON {Kind(root)}, not an object";
                return null;
            }

            if (!root.TryGetProperty("meta", out var meta) || meta.ValueKind != JsonValueKind.Object)
            {
                reason = "meta is missing or not an object";
                return null;
            }

            if (!meta.TryGetProperty("updatedAt", out var updated) || updated.ValueKind != JsonValueKind.Number || !updated.TryGetInt64(out var updatedAt))
            {
                reason = updated.ValueKind == JsonValueKind.Undefined
                    ? "meta.updatedAt is missing"
                    : $"meta.updatedAt must be an integer (unix seconds), not a {Kind(updated)}";
                return null;
            }

            long? createdAt = null;
            if (meta.TryGetProperty("createdAt", out var created) && created.ValueKind != JsonValueKind.Null)
            {
                if (created.ValueKind != JsonValueKind.Number || !created.TryGetInt64(out var c))
                {
                    reason = $"meta.createdAt must be an integer (unix seconds), not a {Kind(created)}";
                    return null;
                }

                createdAt = c;
            }

            if (!root.TryGetProperty("result", out var result) || result.ValueKind != JsonValueKind.Object)
            {
                reason = "result is missing or not an object";
                return null;
            }

            if (!result.TryGetProperty("id", out var idElement) || idElement.ValueKind == JsonValueKind.Null)
            {
                reason = "result.id is missing";
                return null;
            }

            if (idElement.ValueKind != JsonValueKind.String || idElement.GetString() is not { Length: > 0 and <= 200 } id)
            {
                reason = $"result.id must be a non-empty string of at most 200 characters, not a {Kind(idElement)}";
                return null;
            }

            string? name = null;
            if (result.TryGetProperty("name", out var nameElement))
            {
                switch (nameElement.ValueKind)
                {
                    case JsonValueKind.String:
                        name = nameElement.GetString();
                        break;
                    case JsonValueKind.Object:
                        name = nameElement.TryGetProperty("en", out var en) && en.ValueKind == JsonValueKind.String
                            ? en.GetString()
                            : nameElement.EnumerateObject().Select(p => p.Value).FirstOrDefault(v => v.ValueKind == JsonValueKind.String) is { ValueKind: JsonValueKind.String } first ? first.GetString() : null;
                        break;
                    case JsonValueKind.Null:
                        break;
                    default:
                        reason = $"result.name must be a string or an object of languages, not a {Kind(nameElement)}";
                        return null;
                }
            }

            if (result.TryGetProperty("status", out var statusElement) && statusElement.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                reason = $"result.status must be a string, not a {Kind(statusElement)}";
                return null;
            }

            return new ProductRecord(
                id,
                name,
                Text(result, "status"),
                result.TryGetProperty("organizations", out var orgs) && orgs.ValueKind == JsonValueKind.Array && orgs.GetArrayLength() > 0
                    ? orgs[0].ValueKind == JsonValueKind.Object && orgs[0].TryGetProperty("name", out var orgName) ? Text(orgName) : Text(orgs[0])
                    : null,
                result.TryGetProperty("brands", out var brands) && brands.ValueKind == JsonValueKind.Array && brands.GetArrayLength() > 0 ? Text(brands[0]) : Text(result, "brands"),
                Text(result, "eanGtin13"),
                Text(result, "eanGtin14"),
                Text(result, "artgId"),
                Text(result, "pbs"),
                Text(result, "snomedMpp"),
                Text(result, "snomedTpp"),
                result.TryGetProperty("gs1Category", out var gs1) && gs1.ValueKind == JsonValueKind.Object && gs1.TryGetProperty("code", out var code) ? Text(code) : Text(result, "gs1Category"),
                createdAt,
                updatedAt,
                System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(result).ToArray());
        }
    }

    /// <summary>The first 200 bytes of a line, as stored in <c>dead_letters.head</c>.</summary>
    public static byte[] Head(ReadOnlySpan<byte> line) => line[..Math.Min(line.Length, 200)].ToArray();

    private static string? Text(JsonElement parent, string property) =>
        parent.TryGetProperty(property, out var value) ? Text(value) : null;

    private static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        JsonValueKind.Array => string.Join(',', value.EnumerateArray().Select(Text).Where(t => t is not null)),
        JsonValueKind.Object => value.GetRawText(),
        _ => null,
    };

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Undefined => "missing value",
        _ => value.ValueKind.ToString().ToLower(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// The reader's message, cut to 160 characters, with U+0000 written as the escape <c>\u0000</c>: System.Text.Json quotes an
    /// invalid literal as it was (<c>'tru\0}}'</c>), and PostgreSQL text cannot hold the character, so the dead letter's reason
    /// made the whole chunk fail on every attempt and be set aside.
    /// </summary>
    private static string Shorten(string message) =>
        (message.Length <= 160 ? message : message[..160] + "...").Replace("\0", "\\u0000", StringComparison.Ordinal);
}
