using Baton.Apps.BrandInsights.Tests.Infrastructure;
using Baton.Apps.BrandInsights.Tests.Merging;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>The Redis transport's meter (<c>Baton.Redis</c>) reaches Baton's own <c>/metrics</c>, beside the engine's.</summary>
public sealed class TransportMetricsTests : PrivateRedisTests
{
    [Fact]
    public async Task Metrics_ChunkTakenFromRedis_RedisTransportCountersOnBatonsMetrics()
    {
        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-1"));
        await RedisCli.RunAsync(Redis.Port, "SADD", "brands:list", "nike");
        await Poll.UntilAsync(async () => (await server.HealthAsync()).Body, h => h.GetProperty("brands").GetArrayLength() == 1, "nike in /health");

        await RedisCli.RunAsync(Redis.Port, "RPUSH", "result:brand:nike:chunks", ChunkParserTests.SeedExample);
        await Poll.UntilAsync(() => RedisCli.RunAsync(Redis.Port, "GET", "summary:brand:nike"), t => t.Length > 0, "redis-cli GET summary:brand:nike", TimeSpan.FromSeconds(60));
        using var api = server.ApiClient();
        var metrics = await Poll.UntilAsync(
            async () => PrometheusText.Parse(await api.GetStringAsync(new Uri("/metrics", UriKind.Relative))),
            m => m.Named("baton_redis_batches_accepted_total").Any(),
            "baton_redis_batches_accepted_total on /metrics");

        Assert.Contains(metrics.Named("baton_redis_items_moved_total"), s => s.Value == 1);
        Assert.Contains(metrics.Named("baton_redis_batches_accepted_total"), s => s.Value == 1);
        Assert.Contains(metrics.Named("baton_runs_started_total"), s => s.Value != 0);
    }
}
