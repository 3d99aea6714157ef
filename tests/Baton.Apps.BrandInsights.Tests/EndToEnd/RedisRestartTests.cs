using Baton.Apps.BrandInsights.Tests.Infrastructure;
using Baton.Simulators.BrandWorkers;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>Redis killed and started again (AOF, so its data survives) while the server merges a backlog.</summary>
public sealed class RedisRestartTests : PrivateRedisTests
{
    protected override bool AppendOnly => true;

    [Fact]
    public async Task RedisKilledAndRestartedMidWork_HealthReportsOutageThenSummariesCorrect()
    {
        var generator = new BrandChunkGenerator(new BrandChunkSettings { Brands = 5, Chunks = 20_000, Bad = 0.02, Duplicates = 0.03, Seed = 21, BrandPrefix = "restart-" });
        await BrandWorkersSimulator.RegisterBrandsAsync(Db, generator.BrandNames, asList: true);
        await BrandWorkersSimulator.PushAsync(Db, generator);

        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-restart"));
        await Poll.UntilAsync(() => Db.KeyExistsAsync(BrandKeys.Summary(generator.BrandNames[0])), e => e, "the first summary");

        Redis.Kill();
        var (downStatus, down) = await Poll.UntilAsync(server.HealthAsync, h => h.Status == 503, "/health to report the outage");
        Assert.Equal("degraded", down.GetProperty("status").GetString());
        Assert.False(down.GetProperty("redis").GetProperty("connected").GetBoolean());
        Assert.Equal(503, downStatus);
        Assert.Contains("orchestrator_redis_connected 0", await server.MetricsAsync(), StringComparison.Ordinal);
        await Poll.UntilAsync(server.MetricsAsync, m => m.Contains("orchestrator_redis_errors_total{operation=", StringComparison.Ordinal), "a Redis error counted");

        await Redis.StartAgainAsync();
        var (upStatus, up) = await Poll.UntilAsync(server.HealthAsync, h => h.Status == 200, "/health to report Redis back");
        Assert.True(up.GetProperty("redis").GetProperty("connected").GetBoolean());

        await Expectations.WaitUntilAllMatchAsync(Db, generator, TimeSpan.FromSeconds(150));
        await Expectations.AssertExactlyOnceAsync(Db, generator);
        Assert.Equal(200, upStatus);
    }
}
