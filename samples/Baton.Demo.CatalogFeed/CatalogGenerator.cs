using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Baton.Demo.CatalogFeed;

/// <summary>
/// The synthetic MediPim-like catalog: a pure function of the spec, so the same spec always gives the
/// same bytes (what makes Range requests and "the table equals the feed" checks possible).
/// </summary>
public static class CatalogGenerator
{
    private const long CreatedBase = 1_600_000_000;
    private const long DayBase = 1_700_000_000;

    private static readonly string[] Words =
    [
        "tablet", "capsule", "oral", "solution", "film-coated", "paracetamol", "ibuprofen", "amoxicillin", "relief", "pain",
        "fever", "adult", "children", "dose", "daily", "pharmacy", "medicine", "pack", "blister", "strength",
        "sodium", "chloride", "vitamin", "supplement", "cream", "topical", "sterile", "injection", "syringe", "store",
        "below", "degrees", "keep", "out", "reach", "consult", "doctor", "pharmacist", "symptoms", "persist",
    ];

    private static readonly string[] Organizations = ["Pharmacia Pty Ltd", "Medico Australia", "HealthCo Ltd", "Generic Labs", "Southern Cross Pharma", "Blue Gum Health"];

    /// <summary>The id of product <paramref name="product"/> ("M" and 9 hex digits, unique below 2^20 products).</summary>
    public static string ProductId(int seed, int product) =>
        string.Create(CultureInfo.InvariantCulture, $"M{Mix(seed, product, 0) & 0xFFFF:X4}{product:X5}");

    /// <summary>Whether product <paramref name="product"/> changes on day <paramref name="day"/> (day 1 is the first catalog; nothing "changes" on it).</summary>
    public static bool ChangesOn(int seed, double changeFraction, int product, int day) =>
        day > 1 && (Mix(seed, product, day) >> 11) * (1.0 / (1L << 53)) < changeFraction;

    /// <summary>meta.updatedAt of a product on a day: it moves on every day the product changes.</summary>
    public static long UpdatedAt(int seed, double changeFraction, int product, int day)
    {
        for (var d = day; d > 1; d--)
        {
            if (ChangesOn(seed, changeFraction, product, d))
            {
                return DayBase + (d * 86_400L) + (product % 3_600);
            }
        }

        return CreatedAt(product) + 1_000;
    }

    public static long CreatedAt(int product) => CreatedBase + (product * 60L);

    /// <summary>How many products differ (have a newer meta.updatedAt) between two days.</summary>
    public static int ChangedBetween(CatalogFeedOptions options, int fromDay, int toDay)
    {
        var count = 0;
        for (var p = 0; p < options.Products; p++)
        {
            if (UpdatedAt(options.Seed, options.ChangeFraction, p, toDay) != UpdatedAt(options.Seed, options.ChangeFraction, p, fromDay))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>The product's <c>result</c> fields a sync stores, for checks: (id, meta.updatedAt, name).</summary>
    public static (string Id, long UpdatedAt, string Name) Expected(CatalogFeedOptions options, int product, int? day = null) =>
        (ProductId(options.Seed, product), UpdatedAt(options.Seed, options.ChangeFraction, product, day ?? options.Day), ProductName(options.Seed, product));

    public static string ProductName(int seed, int product)
    {
        var h = Mix(seed, product, 1);
        return string.Create(CultureInfo.InvariantCulture, $"{Cap(Words[(int)(h % 10) + 5])} {Words[(int)((h >> 8) % 5)]} {(h >> 16) % 990 + 10} mg x {(h >> 24) % 90 + 10}");
    }

    /// <summary>The line layout: item i is product p (p &gt;= 0) or bad line b (encoded -(b+1)).</summary>
    internal static int[] Layout(CatalogSpec spec)
    {
        var items = new List<int>(spec.Products + spec.BadLines.Length);
        var bad = spec.BadLines.Select((b, i) => (b, i)).OrderBy(x => x.b.BeforeProduct).ThenBy(x => x.i).ToArray();
        var next = 0;
        for (var p = 0; p < spec.Products; p++)
        {
            while (next < bad.Length && bad[next].b.BeforeProduct <= p)
            {
                items.Add(-(bad[next++].i + 1));
            }

            items.Add(p);
        }

        while (next < bad.Length)
        {
            items.Add(-(bad[next++].i + 1));
        }

        return [.. items];
    }

    /// <summary>The bytes of item <paramref name="index"/> of <paramref name="layout"/>, line ending included (except a truncated last line).</summary>
    internal static byte[] Line(CatalogSpec spec, int[] layout, int index)
    {
        var item = layout[index];
        var buffer = new ArrayBufferWriter<byte>(2_600);
        if (index == 0 && spec.Bom)
        {
            buffer.Write("\uFEFF"u8.ToArray());
        }

        if (item >= 0)
        {
            WriteProduct(buffer, spec, item, name: null, updatedAtAsString: false, withId: true, descriptionBytes: 0);
        }
        else
        {
            var bad = spec.BadLines[-item - 1];
            var neighbour = Math.Clamp(bad.BeforeProduct, 0, Math.Max(0, spec.Products - 1));
            switch (bad.Kind)
            {
                case BadLineKind.InvalidJson:
                    buffer.Write("""{"meta":{"createdAt":1600000000,"updatedAt":1600001000},"result":{"id":"MBAD000001","name":"broken"""u8);
                    break;
                case BadLineKind.NoId:
                    WriteProduct(buffer, spec, neighbour, name: null, updatedAtAsString: false, withId: false, descriptionBytes: 0);
                    break;
                case BadLineKind.NameNumber:
                    WriteProduct(buffer, spec, neighbour, name: 12345, updatedAtAsString: false, withId: true, descriptionBytes: 0);
                    break;
                case BadLineKind.UpdatedAtString:
                    WriteProduct(buffer, spec, neighbour, name: null, updatedAtAsString: true, withId: true, descriptionBytes: 0);
                    break;
                case BadLineKind.DuplicateId:
                    WriteProduct(buffer, spec, neighbour, name: null, updatedAtAsString: false, withId: true, descriptionBytes: 0);
                    break;
                case BadLineKind.EmptyLine:
                    break;
                case BadLineKind.InvalidUtf8:
                    buffer.Write("""{"meta":{"createdAt":1600000000,"updatedAt":1600001000},"result":{"id":"MBADUTF801","name":"caf"""u8);
                    buffer.Write(new byte[] { 0xC3, 0x28, 0xFF });
                    buffer.Write("\"}}"u8);
                    break;
                case BadLineKind.LongLine:
                    WriteProduct(buffer, spec, neighbour, name: null, updatedAtAsString: false, withId: true, descriptionBytes: 5 * 1024 * 1024);
                    break;
                case BadLineKind.LoneSurrogateInName:
                    buffer.Write("""{"meta":{"createdAt":1600000000,"updatedAt":1600001000},"result":{"id":"MBADSURR01","name":"x\ud800"}}"""u8);
                    break;
                case BadLineKind.LoneSurrogateInId:
                    buffer.Write("""{"meta":{"createdAt":1600000000,"updatedAt":1600001000},"result":{"id":"MBADSURR\udc00","name":"x"}}"""u8);
                    break;
                case BadLineKind.NulInName:
                    buffer.Write("""{"meta":{"createdAt":1600000000,"updatedAt":1600001000},"result":{"id":"MBADNUL001","name":"x\u0000y"}}"""u8);
                    break;
                case BadLineKind.NulByteInLiteral:
                    buffer.Write("""{"meta":{"createdAt":1600000000,"updatedAt":1600001000},"result":{"id":"MBADNUL002","active":tru"""u8);
                    buffer.Write(new byte[] { 0x00 });
                    buffer.Write("}}"u8);
                    break;
                case BadLineKind.NulInDescription:
                    buffer.Write("""{"meta":{"createdAt":1600000000,"updatedAt":1600001000},"result":{"id":"MBADNUL003","name":"x","description":"a\u0000b"}}"""u8);
                    break;
                case BadLineKind.LoneSurrogateInDescription:
                    buffer.Write("""{"meta":{"createdAt":1600000000,"updatedAt":1600001000},"result":{"id":"MBADSURR03","name":"x","description":"x\ud800"}}"""u8);
                    break;
                case BadLineKind.HugeNumberOutsideTheColumns:
                    buffer.Write("""{"meta":{"createdAt":1600000000,"updatedAt":1600001000},"result":{"id":"MBADNUM001","name":"x","weight":1e1000000}}"""u8);
                    break;
                case BadLineKind.LongFractionOutsideTheColumns:
                    buffer.Write("""{"meta":{"createdAt":1600000000,"updatedAt":1600001000},"result":{"id":"MBADNUM002","name":"x","price":1."""u8);
                    buffer.Write(Enumerable.Repeat((byte)'5', 16_384).ToArray());
                    buffer.Write("}}"u8);
                    break;
            }
        }

        var last = index == layout.Length - 1;
        if (last && spec.TruncateLast)
        {
            return buffer.WrittenSpan[..(buffer.WrittenCount / 2)].ToArray();
        }

        buffer.Write(spec.Crlf ? "\r\n"u8 : "\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteProduct(ArrayBufferWriter<byte> buffer, CatalogSpec spec, int p, int? name, bool updatedAtAsString, bool withId, int descriptionBytes)
    {
        var h = Mix(spec.Seed, p, 2);
        var updatedAt = UpdatedAt(spec.Seed, spec.ChangeFraction, p, spec.Day);
        using var json = new Utf8JsonWriter(buffer);
        json.WriteStartObject();
        json.WriteStartObject("meta");
        json.WriteNumber("createdAt", CreatedAt(p));
        if (updatedAtAsString)
        {
            json.WriteString("updatedAt", updatedAt.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNumber("updatedAt", updatedAt);
        }

        json.WriteEndObject();
        json.WriteStartObject("result");
        if (withId)
        {
            json.WriteString("id", ProductId(spec.Seed, p));
        }

        var productName = ProductName(spec.Seed, p);
        if (name is { } number)
        {
            json.WriteNumber("name", number);
        }
        else if (p % 3 == 0)
        {
            json.WriteString("name", productName);
        }
        else
        {
            json.WriteStartObject("name");
            json.WriteString("en", productName);
            json.WriteEndObject();
        }

        json.WriteString("status", "active");
        json.WriteStartArray("organizations");
        json.WriteStartObject();
        json.WriteString("name", Organizations[(int)(h % (ulong)Organizations.Length)]);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteStartArray("brands");
        json.WriteNumberValue((long)(h >> 20) % 5_000);
        json.WriteEndArray();
        json.WriteString("eanGtin13", string.Create(CultureInfo.InvariantCulture, $"93{(h >> 3) % 100_000_000_000L:D11}"));
        json.WriteString("eanGtin14", string.Create(CultureInfo.InvariantCulture, $"193{(h >> 5) % 100_000_000_000L:D11}"));
        json.WriteString("artgId", string.Create(CultureInfo.InvariantCulture, $"{(h >> 7) % 900_000 + 100_000}"));
        json.WriteString("pbs", string.Create(CultureInfo.InvariantCulture, $"{(h >> 9) % 9_000 + 1_000}{(char)('A' + (int)(h % 26))}"));
        json.WriteString("snomedMpp", string.Create(CultureInfo.InvariantCulture, $"{(h >> 11) % 900_000_000 + 100_000_000}1000168107"));
        json.WriteString("snomedTpp", string.Create(CultureInfo.InvariantCulture, $"{(h >> 13) % 900_000_000 + 100_000_000}1000168105"));
        json.WriteStartObject("gs1Category");
        json.WriteString("code", string.Create(CultureInfo.InvariantCulture, $"1000{(h >> 15) % 10_000:D4}"));
        json.WriteEndObject();
        // The price moves with the day the product last changed, so a change is visible in `raw` too.
        json.WriteNumber("publicPrice", (long)((h >> 17) % 20_000) + 199 + (updatedAt % 97));
        json.WriteStartObject("descriptions");
        json.WriteString("en", descriptionBytes > 0 ? new string('x', descriptionBytes) : Sentence(h, 70));
        json.WriteString("indications", Sentence(h >> 1, 40));
        json.WriteString("directions", Sentence(h >> 2, 40));
        json.WriteString("warnings", Sentence(h >> 3, 40));
        json.WriteEndObject();
        json.WriteStartArray("images");
        for (var i = 0; i < 2; i++)
        {
            json.WriteStartObject();
            json.WriteString("url", string.Create(CultureInfo.InvariantCulture, $"https://images.example.invalid/products/{ProductId(spec.Seed, p)}/{i}.jpg"));
            json.WriteNumber("width", 800);
            json.WriteNumber("height", 800);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("categories");
        for (var i = 0; i < 4; i++)
        {
            json.WriteNumberValue((long)((h >> (i * 8)) % 700));
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static string Sentence(ulong h, int words)
    {
        var text = new StringBuilder(words * 8);
        var state = h;
        for (var i = 0; i < words; i++)
        {
            state = state * 6364136223846793005UL + 1442695040888963407UL;
            if (i > 0)
            {
                text.Append(' ');
            }

            text.Append(Words[(int)((state >> 33) % (ulong)Words.Length)]);
        }

        return text.Append('.').ToString();
    }

    private static string Cap(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    private static ulong Mix(int seed, int product, int salt)
    {
        var z = ((ulong)(uint)seed << 32) ^ ((ulong)(uint)product * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)salt * 0xC2B2AE3D27D4EB4FUL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
