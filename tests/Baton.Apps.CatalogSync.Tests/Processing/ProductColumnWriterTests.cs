using System.Text;
using Baton.Apps.CatalogSync.Processing;
using Baton.Apps.CatalogSync.Tests.Infrastructure;
using Baton.Demo.CatalogFeed;

namespace Baton.Apps.CatalogSync.Tests.Processing;

/// <summary>
/// The columns read straight from a line's bytes must be, byte for byte, the COPY fields written from the
/// record <see cref="ProductParser.Parse"/> gives: what the products table holds must not depend on which
/// way a line took. Checked on the simulator's catalog, on hand-written edge cases of every column rule,
/// and on seeded random mutations of real lines.
/// </summary>
public sealed class ProductColumnWriterTests
{
    [Fact]
    public async Task TryWrite_SimulatorCatalogWithBadLines_WritesWhatTheParsedRecordWrites()
    {
        var written = (await FeedLines.WithEveryBadLineAsync()).Count(line => AssertAgrees(TrimCr(line)));

        // Every line that scans (the 300 products, the duplicate, the 5 MB line) is read without the parser.
        Assert.Equal(302, written);
    }

    [Theory]
    [InlineData("""{"meta":{"createdAt":1,"updatedAt":2},"result":{"id":"M1","name":"a","status":"active"}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2,"createdAt":null},"result":{"id":"M1","name":null,"status":null}}""", true)]
    [InlineData("""{"result":{"id":"M1","name":{"fr":"x","en":"y"}},"meta":{"updatedAt":2}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":{"fr":1,"nl":"z","en":{"a":1}}}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":{"fr":1}}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":{"en":"a","en":"b"}}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M\u0031","name":"caf\u00e9 \"x\" \\ \n"}}""", true)]
    // A surrogate escape, even a whole pair, is left to the parser (as the scan leaves it): the same bytes, the slower way.
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M\u0031","name":"caf\u00e9 \"x\" \\ \n","pbs":"\ud83d\ude00"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"\ud800"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":"café ✓ 😀"}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":[{"name":"Org","id":3},{"name":"Other"}]}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":[]}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":["Org",{"x":[1]}]}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":[null]}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":[17]}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":"Org"}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":{"name":"Org"}}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":[{"id":3}]}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":[{"name":{"en":"x"}}]}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":[{"name":"a","name":"b"}]}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","organizations":[["Org"]]}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","brands":[42,"b"],"status":"active"}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","brands":[]}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","brands":[null]}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","brands":"Brand"}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","brands":true}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","brands":{"a":1}}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","brands":[[1,2]]}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","gs1Category":{"code":"10000123","name":"x"}}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","gs1Category":{"code":10000123}}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","gs1Category":"10000123"}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","gs1Category":{"name":"x"}}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","gs1Category":["a","b"]}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","eanGtin13":9300000000001,"eanGtin14":-1.5e3,"artgId":false,"snomedMpp":null}}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","snomedTpp":["a",1,null,["b"]]}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","pbs":"1","pbs":"2"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","\u0070bs":"1"},"other":[1,{"result":2}]}""", true)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1"}} x""", false)]
    [InlineData("""{"meta":{"updatedAt":"2"},"result":{"id":"M1"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2,"createdAt":1.5},"result":{"id":"M1"}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":""}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":7}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","status":3}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2},"result":{"id":"M1","name":["a"]}}""", false)]
    [InlineData("""{"meta":{"updatedAt":2}}""", false)]
    [InlineData("", false)]
    public void TryWrite_EdgeCase_WritesWhatTheParsedRecordWrites(string line, bool fast)
    {
        Assert.Equal(fast, AssertAgrees(Encoding.UTF8.GetBytes(line)));
    }

    [Theory]
    [InlineData(200, true)]
    [InlineData(201, false)]
    public void TryWrite_IdOfMultiByteCharacters_CountsUtf16Characters(int characters, bool fast)
    {
        // 'é' is 2 bytes: the limit is on characters, as the parser counts them, not bytes.
        var line = Encoding.UTF8.GetBytes("{\"meta\":{\"updatedAt\":2},\"result\":{\"id\":\"" + new string('é', characters) + "\"}}");

        Assert.Equal(fast, AssertAgrees(line));
    }

    [Fact]
    public void Write_ScannedLineThatNeedsTheParser_WritesTheParsedRecord()
    {
        // brands is an object: the column holds its JSON text, which only the parser gives.
        var bytes = Encoding.UTF8.GetBytes("""{"meta":{"updatedAt":2},"result":{"id":"M1","brands":{"a":1}}}""");
        Assert.True(ProductScanner.TryScan(bytes, out var id, out var updatedAt));
        using var viaLine = new BinaryCopyBuffer();
        using var viaRecord = new BinaryCopyBuffer();
        using var lineColumns = new ProductColumnWriter(viaLine);
        using var recordColumns = new ProductColumnWriter(viaRecord);
        Assert.False(lineColumns.TryWrite(bytes));

        lineColumns.Write(new ParsedLine(1, 0, id, updatedAt, bytes));
        recordColumns.Write(ProductParser.Parse(bytes, out _)!);

        Assert.Equal(viaRecord.Buffered.ToArray(), viaLine.Buffered.ToArray());
    }

    [Fact]
    public async Task TryWrite_RandomMutationsOfRealLines_WritesWhatTheParsedRecordWrites()
    {
        byte[] alphabet = [.. "{}[]\":,0123456789.-eE \\nrtuefalsn"u8, 0xFF, 0xC3];
        var (fast, declined) = await FeedLines.MutateAsync(20_000, alphabet, (random, length) => random.Next(length), AssertAgrees);

        Assert.True(fast > 1_000, $"read without the parser: {fast}");
        Assert.True(declined > 1_000, $"left to the parser: {declined}");
    }

    /// <summary>TryWrite writes ⇒ Parse accepts, and the fields are the same bytes; Parse rejects or throws ⇒ TryWrite writes nothing. Returns whether TryWrite wrote.</summary>
    private static bool AssertAgrees(ReadOnlyMemory<byte> line)
    {
        using var copy = new BinaryCopyBuffer();
        var header = copy.Buffered.Length;
        using var columns = new ProductColumnWriter(copy);
        var fast = columns.TryWrite(line.Span);
        if (!fast)
        {
            Assert.Equal(header, copy.Buffered.Length);
            return false;
        }

        var viaLine = copy.Buffered.ToArray();
        ProductRecord? parsed;
        string? reason;
        try
        {
            parsed = ProductParser.Parse(line, out reason);
        }
        catch (InvalidOperationException ex)
        {
            parsed = null;
            reason = ex.Message;
        }

        Assert.True(parsed is not null, $"TryWrite read a line Parse rejects ({reason}): {Encoding.UTF8.GetString(line.Span)}");
        using var expected = new BinaryCopyBuffer();
        using (var recordColumns = new ProductColumnWriter(expected))
        {
            recordColumns.Write(parsed);
        }

        Assert.True(expected.Buffered.SequenceEqual(viaLine), $"the fields differ for {Encoding.UTF8.GetString(line.Span)}");
        return true;
    }

    private static ReadOnlyMemory<byte> TrimCr(ReadOnlyMemory<byte> line) =>
        line.Length > 0 && line.Span[^1] == (byte)'\r' ? line[..^1] : line;
}
