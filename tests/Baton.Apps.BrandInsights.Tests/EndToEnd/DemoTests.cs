using Baton.Apps.BrandInsights.Tests.Infrastructure;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>The demo feeder with a Redis on <c>REDIS_URL</c>: summaries of the demo brands are built.</summary>
public sealed class DemoTests : PrivateRedisTests
{
    [Fact]
    public async Task Demo_RedisAnswers_DemoBrandsGetSummaries()
    {
        var environment = BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-demo");
        environment["Baton__Apps__BrandInsights__Demo__Enabled"] = "true";

        await using var server = await BrandServer.StartAsync(environment);

        foreach (var brand in new[] { "demo-nike", "demo-adidas", "demo-puma" })
        {
            var summary = await BrandServer.WaitForSummaryAsync(Db, brand, s => s.GetProperty("totalChunks").GetInt32() >= 3);
            Assert.Equal(brand, summary.GetProperty("brand").GetString());
        }

        Assert.Equal(3, await Db.SetLengthAsync(BrandKeys.BrandsList));
    }

    [Fact]
    public async Task Demo_BrandsListIsARedisList_DemoBrandsJoinTheListAndTheServerRuns()
    {
        // brands:list may be a set or a list (README). Before: the demo added its brands with SADD, which a list refuses
        // (WRONGTYPE); the exception left the demo's background service, which stopped the whole server (exit code 1).
        await Db.ListRightPushAsync(BrandKeys.BrandsList, "nike");
        var environment = BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-demo-list");
        environment["Baton__Apps__BrandInsights__Demo__Enabled"] = "true";

        await using var server = await BrandServer.StartAsync(environment);
        await server.Process.WaitForLineAsync(l => l.Contains("Brand insights demo: feeding", StringComparison.Ordinal), "the demo's start line", TimeSpan.FromSeconds(30));
        var summary = await BrandServer.WaitForSummaryAsync(Db, "demo-nike", s => s.GetProperty("totalChunks").GetInt32() >= 3, TimeSpan.FromSeconds(30));

        Assert.Equal("demo-nike", summary.GetProperty("brand").GetString());
        Assert.False(server.Process.HasExited);
        Assert.Equal(["nike", "demo-nike", "demo-adidas", "demo-puma"], (await Db.ListRangeAsync(BrandKeys.BrandsList)).Select(v => (string)v!));
    }

    [Fact]
    public async Task Demo_RedisStopsWhileItFeeds_DemoStopsWithOneLineAndTheServerRuns()
    {
        // Before: the demo's next RPUSH failed (RedisConnectionException) out of its background service, which stopped the
        // whole server (exit code 1), though the README says the server runs on without Redis.
        var environment = BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-demo-stop");
        environment["Baton__Apps__BrandInsights__Demo__Enabled"] = "true";
        await using var server = await BrandServer.StartAsync(environment);
        await BrandServer.WaitForSummaryAsync(Db, "demo-nike", s => s.GetProperty("totalChunks").GetInt32() >= 1, TimeSpan.FromSeconds(30));

        await Redis.StopAsync();
        await server.Process.WaitForLineAsync(l => l.Contains("Brand insights demo: Redis failed", StringComparison.Ordinal), "the demo's stop line", TimeSpan.FromSeconds(30));
        var (status, health) = await server.HealthAsync();

        Assert.False(server.Process.HasExited);
        Assert.Equal(503, status);
        Assert.False(health.GetProperty("redis").GetProperty("connected").GetBoolean());
    }
}
