using System.Text.Json;
using Baton.Apps.BrandInsights.Tests.Infrastructure;
using Baton.Apps.BrandInsights.Tests.Merging;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>Seed 001's "Simulating Input" example, verbatim, through the real server and the real redis-cli.</summary>
public sealed class SeedQuickCheckTests : PrivateRedisTests
{
    [Fact]
    public async Task RedisCliRpushThenGet_SeedExample_ShowsTheMergedSummary()
    {
        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-1"));
        await RedisCli.RunAsync(Redis.Port, "SADD", "brands:list", "nike");
        await Poll.UntilAsync(async () => (await server.HealthAsync()).Body, h => h.GetProperty("brands").GetArrayLength() == 1, "nike in /health");

        // The seed's command, argument for argument.
        await RedisCli.RunAsync(Redis.Port, "RPUSH", "result:brand:nike:chunks", ChunkParserTests.SeedExample);
        var text = await Poll.UntilAsync(() => RedisCli.RunAsync(Redis.Port, "GET", "summary:brand:nike"), t => t.Length > 0, "redis-cli GET summary:brand:nike", TimeSpan.FromSeconds(60));

        var summary = JsonDocument.Parse(text).RootElement;
        Assert.Equal("nike", summary.GetProperty("brand").GetString());
        Assert.Equal(1, summary.GetProperty("totalChunks").GetInt32());
        Assert.Equal(3, summary.GetProperty("totalMentions").GetInt32());
        Assert.Equal("""{"positive":5,"neutral":2,"negative":1,"score":4}""", summary.GetProperty("sentiment").GetRawText());
        Assert.Equal("""["launch"]""", summary.GetProperty("dominantTopics").GetRawText());
        Assert.Equal("""[{"id":"launch-positive","label":"Launch Buzz","mentions":2,"spike":true}]""", summary.GetProperty("clusters").GetRawText());
        Assert.False(summary.GetProperty("spikeDetected").GetBoolean());
        Assert.StartsWith("nike: 1 chunks, 3 mentions.", summary.GetProperty("summary").GetString());
        Assert.True(DateTimeOffset.TryParse(summary.GetProperty("generatedAt").GetString(), out _));
        Assert.Equal("0", await RedisCli.RunAsync(Redis.Port, "LLEN", "result:brand:nike:chunks"));

        var (status, health) = await server.HealthAsync();
        Assert.Equal(200, status);
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal("orchestrator-1", health.GetProperty("orchestratorId").GetString());
        Assert.True(health.GetProperty("redis").GetProperty("connected").GetBoolean());
        Assert.Equal("""["nike"]""", health.GetProperty("brands").GetRawText());
        await server.WaitForMetricAsync("orchestrator_chunks_processed_total{brand=\"nike\"} 1\n");
    }
}
