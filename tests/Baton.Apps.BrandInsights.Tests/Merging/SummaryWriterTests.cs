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
}
