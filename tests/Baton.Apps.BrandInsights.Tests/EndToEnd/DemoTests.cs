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
}
