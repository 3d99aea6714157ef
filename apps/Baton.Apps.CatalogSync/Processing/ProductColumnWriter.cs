using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// Writes a product's 15 columns (<c>id</c> ... <c>metaUpdatedAt</c>, <c>raw</c>) as fields of a binary COPY
/// row. A scanned line is read with one <see cref="Utf8JsonReader"/> pass and its values are copied as the
/// UTF-8 bytes they already are: no document, no string, no array per line. Anything the pass is not sure
/// to read exactly as <see cref="ProductParser.Parse"/> would (a repeated property, an object or array where
/// a text column reads its raw JSON, a name object with two <c>en</c>, ...) is written from the parsed
/// <see cref="ProductRecord"/> instead, so both ways give the same bytes.
/// </summary>
internal sealed class ProductColumnWriter(BinaryCopyBuffer copy) : IDisposable
{
    /// <summary>The fields <see cref="Write(ParsedLine)"/> adds to a row.</summary>
    public const short Columns = 15;

    private const int Id = 0, Name = 1, Status = 2, Organization = 3, Brand = 4, Gs1Category = 11, TextColumns = 12;

    private byte[] _scratch = [];
    private int _scratchUsed;

    public void Write(ParsedLine line)
    {
        if (!line.Scanned || !TryWrite(line.Bytes.Span))
        {
            Write(line.Product);
        }
    }

    public void Write(ProductRecord p)
    {
        copy.Text(p.Id);
        copy.Text(p.Name);
        copy.Text(p.Status);
        copy.Text(p.Organization);
        copy.Text(p.Brand);
        copy.Text(p.EanGtin13);
        copy.Text(p.EanGtin14);
        copy.Text(p.ArtgId);
        copy.Text(p.Pbs);
        copy.Text(p.SnomedMpp);
        copy.Text(p.SnomedTpp);
        copy.Text(p.Gs1Category);
        copy.Bigint(p.CreatedAt);
        copy.Bigint(p.MetaUpdatedAt);
        // The raw UTF-8 bytes go to the json column as they are: no string and no second encoding.
        copy.Utf8Text(p.RawUtf8);
    }

    /// <summary>Writes the line's columns read straight from its bytes; false, with nothing written, when the line needs the full parser.</summary>
    public bool TryWrite(ReadOnlySpan<byte> line)
    {
        // As strict as the scan: a U+0000 or surrogate escape, or a number numeric may not hold, is the parser's to judge (a scanned line never has one).
        if (!Utf8.IsValid(line) || ProductScanner.MayNotBeJsonb(line))
        {
            return false;
        }

        if (_scratch.Length < line.Length)
        {
            // Unescaped strings are never longer than their JSON, so a line's length is enough for all of them.
            ReturnScratch();
            _scratch = ArrayPool<byte>.Shared.Rent(line.Length);
        }

        _scratchUsed = 0;
        Span<Value> values = stackalloc Value[TextColumns];
        values.Clear();
        var product = new Extracted();
        try
        {
            var reader = new Utf8JsonReader(line, isFinalBlock: true, state: default);
            if (!ReadLine(ref reader, values, ref product))
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Invalid JSON, or an escaped string that is not valid UTF-16: the parser gives the reason.
            return false;
        }

        foreach (var value in values)
        {
            switch (value.Source)
            {
                case Source.Line:
                    copy.Utf8Text(line.Slice(value.Start, value.Length));
                    break;
                case Source.Scratch:
                    copy.Utf8Text(_scratch.AsSpan(value.Start, value.Length));
                    break;
                default:
                    copy.Null();
                    break;
            }
        }

        copy.Bigint(product.CreatedAt);
        copy.Bigint(product.UpdatedAt);
        copy.Utf8Text(line[product.RawStart..product.RawEnd]);
        return true;
    }

    public void Dispose() => ReturnScratch();

    private bool ReadLine(ref Utf8JsonReader reader, scoped Span<Value> values, ref Extracted product)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        bool meta = false, result = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("meta"u8))
            {
                if (meta || !reader.Read() || reader.TokenType != JsonTokenType.StartObject || !ProductScanner.ReadMeta(ref reader, ref product.UpdatedAt, ref product.HasUpdatedAt, ref product.CreatedAt))
                {
                    return false;
                }

                meta = true;
            }
            else if (reader.ValueTextEquals("result"u8))
            {
                if (result || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                product.RawStart = (int)reader.TokenStartIndex;
                if (!ReadResult(ref reader, values))
                {
                    return false;
                }

                product.RawEnd = (int)reader.BytesConsumed;
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

        return meta && result && product.HasUpdatedAt && values[Id].Source != Source.Null;
    }

    private bool ReadResult(ref Utf8JsonReader reader, scoped Span<Value> values)
    {
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var column = ResultColumn(ref reader);
            if (column < 0)
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            // The parser takes the last of repeated properties; that is left to it.
            if ((seen & (1 << column)) != 0 || !reader.Read())
            {
                return false;
            }

            seen |= 1 << column;
            var read = column switch
            {
                Id => ReadId(ref reader, ref values[Id]),
                Name => ReadName(ref reader, ref values[Name]),
                Status => reader.TokenType is JsonTokenType.String or JsonTokenType.Null && ReadScalar(ref reader, ref values[Status]),
                Organization => ReadOrganization(ref reader, ref values[Organization]),
                Brand => ReadBrand(ref reader, ref values[Brand]),
                Gs1Category => ReadGs1Category(ref reader, ref values[Gs1Category]),
                _ => ReadScalar(ref reader, ref values[column]),
            };
            if (!read)
            {
                return false;
            }
        }

        return reader.TokenType == JsonTokenType.EndObject;
    }

    private static int ResultColumn(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("id"u8) ? Id
        : reader.ValueTextEquals("name"u8) ? Name
        : reader.ValueTextEquals("status"u8) ? Status
        : reader.ValueTextEquals("organizations"u8) ? Organization
        : reader.ValueTextEquals("brands"u8) ? Brand
        : reader.ValueTextEquals("eanGtin13"u8) ? 5
        : reader.ValueTextEquals("eanGtin14"u8) ? 6
        : reader.ValueTextEquals("artgId"u8) ? 7
        : reader.ValueTextEquals("pbs"u8) ? 8
        : reader.ValueTextEquals("snomedMpp"u8) ? 9
        : reader.ValueTextEquals("snomedTpp"u8) ? 10
        : reader.ValueTextEquals("gs1Category"u8) ? Gs1Category
        : -1;

    /// <summary>id: a string of 1 to 200 UTF-16 characters, as the parser checks it.</summary>
    private bool ReadId(ref Utf8JsonReader reader, ref Value value)
    {
        if (reader.TokenType != JsonTokenType.String || !ReadScalar(ref reader, ref value))
        {
            return false;
        }

        var bytes = value.Source == Source.Line ? reader.ValueSpan : _scratch.AsSpan(value.Start, value.Length);
        var characters = bytes.Length <= 200 && Ascii.IsValid(bytes) ? bytes.Length : Encoding.UTF8.GetCharCount(bytes);
        return characters is > 0 and <= 200;
    }

    /// <summary>name: a string; or the <c>en</c> entry of a language object if it is a string, else its first string; or null.</summary>
    private bool ReadName(ref Utf8JsonReader reader, ref Value value)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String or JsonTokenType.Null:
                return ReadScalar(ref reader, ref value);
            case JsonTokenType.StartObject:
                Value en = default, first = default;
                var ens = 0;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isEn = reader.ValueTextEquals("en"u8);
                    ens += isEn ? 1 : 0;
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        Value text = default;
                        ReadScalar(ref reader, ref text);
                        en = isEn ? text : en;
                        first = first.Source == Source.Null ? text : first;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }

                // With two "en" the parser's (the last) decides.
                if (ens > 1)
                {
                    return false;
                }

                value = en.Source != Source.Null ? en : first;
                return true;
            default:
                return false;
        }
    }

    /// <summary>organizations: <c>[0].name</c> (a scalar) of an object, or <c>[0]</c> itself if a scalar; null if empty or not an array.</summary>
    private bool ReadOrganization(ref Utf8JsonReader reader, ref Value value)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return true;
        }

        reader.Read();
        if (reader.TokenType == JsonTokenType.EndArray)
        {
            return true;
        }

        var read = reader.TokenType == JsonTokenType.StartObject ? ReadMember(ref reader, "name"u8, ref value) : ReadScalar(ref reader, ref value);
        if (!read)
        {
            return false;
        }

        SkipRestOfArray(ref reader);
        return true;
    }

    /// <summary>brands: <c>[0]</c> if a scalar, "" if empty; the value itself if a scalar.</summary>
    private bool ReadBrand(ref Utf8JsonReader reader, ref Value value)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return ReadScalar(ref reader, ref value);
        }

        reader.Read();
        if (reader.TokenType == JsonTokenType.EndArray)
        {
            // The parser joins the elements of an empty array: an empty string, not null.
            value = new Value(Source.Line, 0, 0);
            return true;
        }

        if (!ReadScalar(ref reader, ref value))
        {
            return false;
        }

        SkipRestOfArray(ref reader);
        return true;
    }

    /// <summary>gs1Category: <c>code</c> (a scalar) of an object; the value itself if a scalar.</summary>
    private bool ReadGs1Category(ref Utf8JsonReader reader, ref Value value) =>
        reader.TokenType == JsonTokenType.StartObject ? ReadMember(ref reader, "code"u8, ref value) : ReadScalar(ref reader, ref value);

    /// <summary>Reads the scalar <paramref name="name"/> of the object starting at the reader; false if it is missing, repeated or not a scalar.</summary>
    private bool ReadMember(ref Utf8JsonReader reader, ReadOnlySpan<byte> name, ref Value value)
    {
        var found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(name))
            {
                if (found || !reader.Read() || !ReadScalar(ref reader, ref value))
                {
                    return false;
                }

                found = true;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        // Without the member the parser stores the object's JSON text: left to it.
        return found;
    }

    private static void SkipRestOfArray(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            reader.Skip();
        }
    }

    /// <summary>
    /// A text column's value as the parser writes it: a string unescaped, a number or true/false as written,
    /// null as NULL. An object or array (whose JSON text the parser would store) is left to the parser.
    /// </summary>
    private bool ReadScalar(ref Utf8JsonReader reader, ref Value value)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String when !reader.ValueIsEscaped:
                value = new Value(Source.Line, (int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
                return true;
            case JsonTokenType.String:
                var written = reader.CopyString(_scratch.AsSpan(_scratchUsed));
                if (!Utf8.IsValid(_scratch.AsSpan(_scratchUsed, written)))
                {
                    return false;
                }

                value = new Value(Source.Scratch, _scratchUsed, written);
                _scratchUsed += written;
                return true;
            case JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False:
                value = new Value(Source.Line, (int)reader.TokenStartIndex, reader.ValueSpan.Length);
                return true;
            case JsonTokenType.Null:
                value = default;
                return true;
            default:
                return false;
        }
    }

    private void ReturnScratch()
    {
        var scratch = _scratch;
        _scratch = [];
        if (scratch.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private enum Source : byte
    {
        Null,
        Line,
        Scratch,
    }

    /// <summary>A text column's bytes: in the line, in the scratch buffer (unescaped), or NULL.</summary>
    private readonly record struct Value(Source Source, int Start, int Length);

    private struct Extracted
    {
        public long UpdatedAt;
        public bool HasUpdatedAt;
        public long? CreatedAt;
        public int RawStart;
        public int RawEnd;
    }
}
