using Baton.Apps.BrandInsights.Merging;

namespace Baton.Apps.BrandInsights.Tests.Merging;

public sealed class ChunkParserTests
{
    /// <summary>The payload of seed 001's quick check, verbatim.</summary>
    public const string SeedExample = """{"chunkId":"nike-1","brand":"nike","processedAt":"2025-01-01T00:00:00Z","sentiment":{"positive":5,"neutral":2,"negative":1,"score":4},"topics":["launch"],"clusters":[{"id":"launch-positive","label":"Launch Buzz","mentions":["m1","m2"],"spike":true}],"meta":{"mentionCount":3}}""";

    [Fact]
    public void Parse_SeedExample_ReadsEveryField()
    {
        var chunk = ChunkParser.Parse(SeedExample, "nike", 1 << 20, out var reason);

        Assert.Null(reason);
        Assert.NotNull(chunk);
        Assert.Equal("nike-1", chunk.ChunkId);
        Assert.Equal(new Sentiment(5, 2, 1, 4), chunk.Sentiment);
        Assert.Equal(["launch"], chunk.Topics);
        var cluster = Assert.Single(chunk.Clusters);
        Assert.Equal(("launch-positive", "Launch Buzz", true), (cluster.Id, cluster.Label, cluster.Spike));
        Assert.Equal(["m1", "m2"], cluster.Mentions);
        Assert.Null(cluster.Centroid);
        Assert.Equal(3, chunk.Mentions);
    }

    [Theory]
    [InlineData("not json at all", "not JSON")]
    [InlineData("{\"chunkId\":", "not JSON")]
    [InlineData("[1,2]", "payload is a JSON array, not an object")]
    [InlineData("{\"brand\":\"nike\"}", "chunkId is missing")]
    [InlineData("{\"chunkId\":\"\",\"brand\":\"nike\"}", "chunkId is empty")]
    [InlineData("{\"chunkId\":7,\"brand\":\"nike\"}", "chunkId is a JSON number, not a string")]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"adidas\"}", "brand is not the list's brand")]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"processedAt\":\"x\",\"sentiment\":{\"positive\":\"5\",\"neutral\":2,\"negative\":1,\"score\":4}}", "sentiment.positive is a JSON string, not a number")]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"processedAt\":\"x\",\"sentiment\":{\"positive\":5,\"neutral\":2,\"negative\":1,\"score\":4},\"topics\":\"launch\"}", "topics is a JSON string, not an array")]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"processedAt\":\"x\",\"sentiment\":{\"positive\":5,\"neutral\":2,\"negative\":1,\"score\":4},\"topics\":[],\"clusters\":[{\"id\":\"a\",\"label\":\"A\",\"mentions\":[1],\"spike\":true}]}", "clusters[0].mentions[0] is a JSON number, not a string")]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"processedAt\":\"x\",\"sentiment\":{\"positive\":5,\"neutral\":2,\"negative\":1,\"score\":4},\"topics\":[],\"clusters\":[{\"id\":\"a\",\"label\":\"A\",\"mentions\":[],\"spike\":\"yes\"}]}", "clusters[0].spike is a JSON string, not a boolean")]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"processedAt\":\"x\",\"sentiment\":{\"positive\":5,\"neutral\":2,\"negative\":1,\"score\":4},\"topics\":[],\"clusters\":[{\"id\":\"a\",\"label\":\"A\",\"mentions\":[],\"spike\":true,\"centroid\":[1,\"2\"]}]}", "clusters[0].centroid[1] is a JSON string, not a number")]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"processedAt\":\"x\",\"sentiment\":{\"positive\":5,\"neutral\":2,\"negative\":1,\"score\":4},\"topics\":[],\"clusters\":[],\"meta\":\"3\"}", "meta is a JSON string, not an object")]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"processedAt\":\"x\",\"sentiment\":{\"positive\":1e999,\"neutral\":2,\"negative\":1,\"score\":4},\"topics\":[],\"clusters\":[]}", "sentiment.positive is out of range")]
    // Finite, but two of them summed are Infinity, which the state cannot be written with (before: the whole batch failed).
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"processedAt\":\"x\",\"sentiment\":{\"positive\":1e308,\"neutral\":2,\"negative\":1,\"score\":4},\"topics\":[],\"clusters\":[]}", "sentiment.positive is out of range (at most 1e15 in magnitude)")]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"processedAt\":\"x\",\"sentiment\":{\"positive\":1,\"neutral\":2,\"negative\":1,\"score\":-2e15},\"topics\":[],\"clusters\":[]}", "sentiment.score is out of range")]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"processedAt\":\"x\",\"sentiment\":{\"positive\":5,\"neutral\":2,\"negative\":1,\"score\":4},\"topics\":[],\"clusters\":[],\"summary\":\"a\\ud800b\"}", "a string holds half a surrogate pair")]
    [InlineData("{\"chunkId\":\"c\\udfff\",\"brand\":\"nike\"}", "a string holds half a surrogate pair")]
    public void Parse_BadPayload_NullWithReason(string raw, string expected)
    {
        Assert.Null(ChunkParser.Parse(raw, "nike", 1 << 20, out var reason));
        Assert.StartsWith(expected, reason);
    }

    [Fact]
    public void Parse_ChunkOfAnotherBrand_ReasonQuotesNeitherBrand()
    {
        // Before: "brand 'sk_live_abc<newline>level=error forged' is not the list's brand 'nike'": the chunk's brand is its
        // payload, which the README says is never logged (a forged log line here), and the list's brand is already in the
        // log line (its list and dead-letter key).
        Assert.Null(ChunkParser.Parse("{\"chunkId\":\"c\",\"brand\":\"sk_live_abc\\nlevel=error forged\"}", "nike", 1 << 20, out var reason));

        Assert.Equal("brand is not the list's brand", reason);
    }

    [Theory]
    [InlineData("{\"chunkId\":\"c\",\"brand\":\"nike\",\"meta\":{\"ok\":tru,\"note\":\"mail jane@example.com token sk_live_abc\"}}")]
    [InlineData("{\"chunkId\": nSECRET_sk_live_abc}")]
    [InlineData("sk_live_abc")]
    public void Parse_NotJson_ReasonSaysWhereButQuotesNoneOfThePayload(string raw)
    {
        // Before: the reason was the JSON reader's message, which quotes a bad literal with the rest of the payload after it
        // ("'tru,"note":"mail jane@example.com token sk_live_abc"}}' is an invalid JSON literal"), and it is logged as a
        // warning, though the README says the reason is logged, never the payload.
        Assert.Null(ChunkParser.Parse(raw, "nike", 1 << 20, out var reason));

        Assert.StartsWith("not JSON", reason);
        Assert.Matches(@"line \d+, byte \d+", reason);
        Assert.DoesNotContain("sk_live", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("jane", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MetaNestedDeeperThan32Levels_ReadAsTheSeedsJsonParseReadsIt()
    {
        // Before: a reader depth limit of 32 dead-lettered this valid chunk as "not JSON: invalid at line 1, byte 310",
        // though only its top three levels are read and the seed's JSON.parse takes it.
        var raw = SeedExample.Replace("\"mentionCount\":3", "\"mentionCount\":3,\"trace\":" + new string('[', 40) + new string(']', 40), StringComparison.Ordinal);

        var chunk = ChunkParser.Parse(raw, "nike", 1 << 20, out var reason);

        Assert.Null(reason);
        Assert.Equal(3, chunk!.Mentions);
    }

    [Fact]
    public void Parse_OverTheSizeLimit_RejectedBeforeParsing()
    {
        var raw = SeedExample.Replace("\"launch\"]", "\"launch\",\"" + new string('x', 2000) + "\"]", StringComparison.Ordinal);

        Assert.Null(ChunkParser.Parse(raw, "nike", 1024, out var reason));
        Assert.Equal($"payload is {raw.Length} bytes, over the 1024-byte limit", reason);
    }

    [Fact]
    public void Parse_MetaMissingOrCountNotANumber_CountsClusterMentions()
    {
        var withoutMeta = SeedExample.Replace(",\"meta\":{\"mentionCount\":3}", "", StringComparison.Ordinal);
        var textCount = SeedExample.Replace("\"mentionCount\":3", "\"mentionCount\":\"3\"", StringComparison.Ordinal);
        var nullMeta = SeedExample.Replace("{\"mentionCount\":3}", "null", StringComparison.Ordinal);

        Assert.Equal(2, ChunkParser.Parse(withoutMeta, "nike", 1 << 20, out _)!.Mentions);
        Assert.Equal(2, ChunkParser.Parse(textCount, "nike", 1 << 20, out _)!.Mentions);
        Assert.Equal(2, ChunkParser.Parse(nullMeta, "nike", 1 << 20, out _)!.Mentions);
    }

    [Fact]
    public void Parse_BrandWithColonAndSpaces_MatchesTheListBrand()
    {
        var raw = SeedExample.Replace("\"brand\":\"nike\"", "\"brand\":\"acme: west coast\"", StringComparison.Ordinal);

        Assert.Equal("acme: west coast", ChunkParser.Parse(raw, "acme: west coast", 1 << 20, out _)!.Brand);
    }
}
