using System.Text;
using Baton.Apps.CatalogSync.Processing;
using Baton.Apps.CatalogSync.Tests.Infrastructure;
using Baton.Demo.CatalogFeed;

namespace Baton.Apps.CatalogSync.Tests.Processing;

/// <summary>
/// The scan may only accept lines the full parser accepts, with the same id and updatedAt: a line it
/// accepts is never parsed again unless it is written, so a wrong acceptance would skip a dead letter.
/// Checked on the simulator's catalog with every kind of bad line, on hand-written edge cases, and on
/// seeded random mutations of real lines.
/// </summary>
public sealed class ProductScannerTests
{
    [Fact]
    public async Task TryScan_SimulatorCatalogWithBadLines_AgreesWithParseOnEveryLine()
    {
        var lines = await FeedLines.WithEveryBadLineAsync();

        var accepted = 0;
        foreach (var line in lines)
        {
            var scanned = AssertAgrees(line);
            // On real lines the scan also never declines a line that parses: declining costs a full parse.
            Assert.Equal(ProductParser.Parse(line, out _) is not null, scanned);
            accepted += scanned ? 1 : 0;
        }

        // The 300 products, the duplicate (a valid line; the store makes it a dead letter) and the 5 MB line
        // (valid JSON; the line reader sets it aside before any scan) scan; the other bad lines do not.
        Assert.Equal(302, accepted);
    }

    [Theory]
    [InlineData("""{"meta":{"createdAt":1,"updatedAt":2},"result":{"id":"M1","name":"a"}}""", true)]
    [InlineData("""{"result":{"id":"M1"},"meta":{"updatedAt":2}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2,"createdAt":null},"result":{"id":"M1","name":{"en":"x"},"status":null}}""", true)]
    [InlineData("""{"\u006deta":{"updatedAt":2},"result":{"\u0069d":"M\u0031"}}""", true)]
    [InlineData("""  {"meta":{"updatedAt":2},"result":{"id":"M1"}}  """, true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1"}} x""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1"}}{}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1"}""", false)]
    [InlineData("""[{"meta":{"updatedAt":2},"result":{"id":"M1"}}]""", false)]
    [InlineData("""{"meta":[],"result":{"id":"M1"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":"2"},"result":{"id":"M1"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2.5},"result":{"id":"M1"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":99999999999999999999},"result":{"id":"M1"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2,"createdAt":"1"},"result":{"id":"M1"}}""", false)]
    [InlineData("""{"meta":{"createdAt":1},"result":{"id":"M1"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":"M1"}""", false)]
    [InlineData("""{"meta":{"updatedAt":2}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":null}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":""}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":7}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":7}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":["a"]}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","status":true}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"meta":{"updatedAt":3},"result":{"id":"M1"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2,"updatedAt":3},"result":{"id":"M1"}}""", false)]
    // \u0000 and surrogate escapes are left to the parser (the scan skips most fields, so it cannot tell).
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"x\ud800"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1\uDC00"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"\ud83d\ude00"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","note":"a\u0000b"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"caf\u00e9"}}""", true)]
    // A number with an exponent of 5 or more digits is left to the parser too (leading zeros and all); a shorter exponent,
    // or such digits inside a string, are read as any other.
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M3E12345A","weight":1.5e3,"x":[-2E-12],"y":"e12345 3E12345"}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","weight":1e12345}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","weight":[9e+00001 ]}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","id":"M2"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1",}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1"} /* c */}""", false)]
    [InlineData("", false)]
    public void TryScan_EdgeCase_AcceptsOnlyWhatParseAccepts(string line, bool expected)
    {
        Assert.Equal(expected, AssertAgrees(Encoding.UTF8.GetBytes(line)));
    }

    [Fact]
    public void TryScan_IdLongerThan200Characters_Declines()
    {
        var line = Encoding.UTF8.GetBytes("{\"meta\":{\"updatedAt\":2},\"result\":{\"id\":\"" + new string('x', 201) + "\"}}");

        Assert.False(AssertAgrees(line));
    }

    [Fact]
    public void TryScan_InvalidUtf8_Declines()
    {
        byte[] line = [.. """{"meta":{"updatedAt":2},"result":{"id":"M"""u8, 0xC3, 0x28, .. "\"}}"u8];

        Assert.False(AssertAgrees(line));
    }

    [Fact]
    public async Task TryScan_RandomMutationsOfRealLines_NeverAcceptsWhatParseRejects()
    {
        byte[] alphabet = [.. "{}[]\":,0123456789.-eE \\ntruefalsnul"u8, 0xFF, 0xC3];
        // Mutations near the start hit meta and result.id, the fields the scan reads.
        var (accepted, declined) = await FeedLines.MutateAsync(
            20_000, alphabet, (random, length) => random.Next(random.Next(2) == 0 ? Math.Min(length, 120) : length), AssertAgrees);

        // Both outcomes are exercised, so the implication was really tested both ways.
        Assert.True(accepted > 1_000, $"accepted {accepted}");
        Assert.True(declined > 1_000, $"declined {declined}");
    }

    /// <summary>Scan accepts ⇒ Parse accepts with the same id and updatedAt; Parse rejects ⇒ scan declines. Returns whether the scan accepted.</summary>
    private static bool AssertAgrees(ReadOnlyMemory<byte> line)
    {
        var scanned = ProductScanner.TryScan(line.Span, out var id, out var updatedAt);
        var parsed = ProductParser.Parse(line, out var reason);
        if (scanned)
        {
            Assert.True(parsed is not null, $"scan accepted a line Parse rejects ({reason}): {Encoding.UTF8.GetString(line.Span)}");
            Assert.Equal(parsed.Id, id);
            Assert.Equal(parsed.MetaUpdatedAt, updatedAt);
        }

        return scanned;
    }

    [Theory]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"x\ud800"}}""", "a string holds half a surrogate pair")]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","brands":["a\udfffb"]}}""", "a string holds half a surrogate pair")]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M\u00001"}}""", "result.id holds the character U+0000")]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","eanGtin13":"12\u0000"}}""", "result.eanGtin13 holds the character U+0000")]
    public void Parse_TextNoStoreCanKeep_DeadLetterReason(string line, string reason)
    {
        Assert.Null(ProductParser.Parse(Encoding.UTF8.GetBytes(line), out var why));
        Assert.StartsWith(reason, why, StringComparison.Ordinal);
    }

    // Before: each of these lines was stored with the escape in raw, and PostgreSQL's `raw::jsonb` (or `raw -> 'field'`) then
    // failed every query that met the row ("unsupported Unicode escape sequence", "Unicode low surrogate must follow a high
    // surrogate", "Unicode high surrogate must not follow a high surrogate").
    [Theory]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"n","description":"x\ud800"}}""", "a string holds half a surrogate pair (a \\uD800-\\uDFFF escape without its other half), which is not text (in result.description)")]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"n","description":"\ude00\ud83d"}}""", "a string holds half a surrogate pair (a \\uD800-\\uDFFF escape without its other half), which is not text (in result.description)")]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","photos":[{"alt":"\ud83d\ud83d"}]}}""", "a string holds half a surrogate pair (a \\uD800-\\uDFFF escape without its other half), which is not text (in result.photos)")]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","note":"a\u0000b"}}""", "result.note holds the character U+0000, which the product store cannot keep")]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","x":{"a\u0000":1}}}""", "result.x holds the character U+0000, which the product store cannot keep")]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","k\u0000":1}}""", "result.k\\u0000 holds the character U+0000, which the product store cannot keep")]
    public void Parse_EscapeJsonbCannotHoldOutsideTheColumns_DeadLetterReason(string line, string reason)
    {
        Assert.Null(ProductParser.Parse(Encoding.UTF8.GetBytes(line), out var why));
        Assert.Equal(reason, why);
        Assert.False(ProductScanner.TryScan(Encoding.UTF8.GetBytes(line), out _, out _));
    }

    [Theory]
    [InlineData("""{"meta":{"updatedAt":2,"note":"\u0000\ud800"},"result":{"id":"M1","name":"\ud83d\ude00","note":"a\\u0000b \\ud800 \u00e9"}}""")]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"\ud83d\ude00","description":"\uD83D\uDE00 \u0001"}}""")]
    public void Parse_SurrogatePairOrEscapedBackslashOutsideTheColumns_Read(string line)
    {
        // A whole pair is text (an emoji); "\\u0000" is a backslash and text; meta is not stored; each of them jsonb takes.
        var product = ProductParser.Parse(Encoding.UTF8.GetBytes(line), out var reason);

        Assert.Null(reason);
        Assert.Equal("\U0001F600", product!.Name);
    }

    // Before: each of these lines was stored with the number in raw (json), and on PostgreSQL every later
    // `SELECT raw::jsonb FROM products` failed whole with "value overflows numeric format". The limits were checked with psql
    // on PostgreSQL 15: numeric takes a first significant digit up to 10^131071 and up to 16,383 digits after the point.
    [Theory]
    [InlineData("1e131072", '5', 0, "")]
    [InlineData("-1E+131072", '5', 0, "")]
    [InlineData("10e131071", '5', 0, "")]
    [InlineData("0.1e131073", '5', 0, "")]
    [InlineData("1e1000000", '5', 0, "")]
    [InlineData("1e99999999999999999999", '5', 0, "")]
    [InlineData("1e-16384", '5', 0, "")]
    [InlineData("10e-16384", '5', 0, "")]
    [InlineData("1.5e-16383", '5', 0, "")]
    [InlineData("0e-16384", '5', 0, "")]
    [InlineData("0e1073741823", '5', 0, "")]
    [InlineData("1", '0', 131_072, "")]
    [InlineData("", '5', 121_074, "e9999")]
    [InlineData("0.", '0', 16_384, "")]
    [InlineData("1.", '5', 16_385, "e1")]
    [InlineData("1.", '5', 6_385, "e-9999")]
    public void Parse_NumberNumericCannotHold_DeadLetterReason(string head, char digit, int digits, string tail)
    {
        var number = head + new string(digit, digits) + tail;
        var line = Encoding.UTF8.GetBytes("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"n","weight":""" + number + ""","x":[1]}}""");

        Assert.Null(ProductParser.Parse(line, out var why));
        Assert.StartsWith($"result.weight holds the number {number[..Math.Min(40, number.Length)]}", why, StringComparison.Ordinal);
        Assert.Contains("which the product store cannot keep", why, StringComparison.Ordinal);
        Assert.False(ProductScanner.TryScan(line, out _, out _));
        Assert.Null(ProductParser.Parse(Encoding.UTF8.GetBytes("""{"meta":{"updatedAt":2},"result":{"id":"M1","dims":[{"w":""" + number + "}]}}"), out why));
        Assert.StartsWith("result.dims holds the number ", why, StringComparison.Ordinal);
    }

    // The last value on the right side of each limit, which jsonb reads (psql on PostgreSQL 15), and an exponent with leading zeros.
    [Theory]
    [InlineData("1e131071", '5', 0, "")]
    [InlineData("-9.99E+131071", '5', 0, "")]
    [InlineData("0.01e131073", '5', 0, "")]
    [InlineData("1e-16383", '5', 0, "")]
    [InlineData("0.0e-16382", '5', 0, "")]
    [InlineData("0e1073741822", '5', 0, "")]
    [InlineData("1e00000000000000000005", '5', 0, "")]
    [InlineData("1", '0', 131_071, "")]
    [InlineData("", '5', 121_073, "e9999")]
    [InlineData("0.", '0', 16_383, "")]
    [InlineData("1.", '5', 16_384, "e1")]
    [InlineData("1.", '5', 6_384, "e-9999")]
    public void Parse_NumberAtNumericsLimit_Read(string head, char digit, int digits, string tail)
    {
        var number = head + new string(digit, digits) + tail;
        var line = Encoding.UTF8.GetBytes("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"n","weight":""" + number + "}}");

        var product = ProductParser.Parse(line, out var reason);

        Assert.Null(reason);
        Assert.Equal("M1", product!.Id);
        AssertAgrees(line);
    }
}
