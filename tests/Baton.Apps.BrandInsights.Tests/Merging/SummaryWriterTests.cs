using System.Text.Json;
using Baton.Apps.BrandInsights.Merging;
using static Baton.Apps.BrandInsights.Tests.Merging.Chunks;

namespace Baton.Apps.BrandInsights.Tests.Merging;

public sealed class SummaryWriterTests
{
    [Fact]
    public void Write_SeedExample_HasTheShapeTheApiReads()
    {
        var chunk = ChunkParser.Parse(ChunkParserTests.SeedExample, "nike", 1 << 20, out _)!;
        var state = MergeBatches(0.75, [chunk]);

        var summary = SummaryWriter.Write("nike", state, new DateTimeOffset(2025, 1, 1, 0, 0, 1, TimeSpan.Zero));

        Assert.Equal(
            """{"brand":"nike","generatedAt":"2025-01-01T00:00:01.000Z","totalChunks":1,"totalMentions":3,"sentiment":{"positive":5,"neutral":2,"negative":1,"score":4},"dominantTopics":["launch"],"clusters":[{"id":"launch-positive","label":"Launch Buzz","mentions":2,"spike":true}],"spikeDetected":false,"summary":"nike: 1 chunks, 3 mentions. Dominant topics: launch. No spike detected. Top clusters: Launch Buzz (2 mentions).","chunkSummaries":[]}""",
            summary);
    }

    [Fact]
    public void Write_NothingMerged_ValidJsonWithEmptyLists()
    {
        using var json = JsonDocument.Parse(SummaryWriter.Write("acme: west", new BrandState(), DateTimeOffset.UnixEpoch));

        Assert.Equal("acme: west", json.RootElement.GetProperty("brand").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("clusters").GetArrayLength());
        Assert.Equal(0, json.RootElement.GetProperty("dominantTopics").GetArrayLength());
        Assert.EndsWith("Dominant topics: none. No spike detected. Top clusters: none.", json.RootElement.GetProperty("summary").GetString());
    }

    [Fact]
    public void Write_NonAsciiAndHtmlCharacters_WrittenAsTheyAreLikeNodesJsonStringify()
    {
        // The seed's Node API reads what JSON.stringify writes: "Café <&> 'x' +1", not "Caf\u00E9 \u003C\u0026\u003E \u0027x\u0027 \u002B1".
        const string Brand = "Café <&> 'x' +1 日本";
        var summary = SummaryWriter.Write(Brand, new BrandState(), DateTimeOffset.UnixEpoch);

        Assert.StartsWith("""{"brand":"Café <&> 'x' +1 日本","generatedAt":""", summary, StringComparison.Ordinal);
        Assert.Contains("""summary":"Café <&> 'x' +1 日本: 0 chunks""", summary, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(summary);
        Assert.Equal(Brand, json.RootElement.GetProperty("brand").GetString());
    }

    [Fact]
    public void Write_QuoteBackslashAndControlCharacter_StillEscaped()
    {
        var summary = SummaryWriter.Write("a\"b\\c\nd", new BrandState(), DateTimeOffset.UnixEpoch);

        Assert.StartsWith("""{"brand":"a\"b\\c\nd",""", summary, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(summary);
        Assert.Equal("a\"b\\c\nd", json.RootElement.GetProperty("brand").GetString());
    }
}
