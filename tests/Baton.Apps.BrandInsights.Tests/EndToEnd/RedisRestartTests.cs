using Baton.Apps.BrandInsights.Tests.Infrastructure;
using Baton.Simulators.BrandWorkers;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>Redis killed and started again (AOF, so its data survives) while the server merges a backlog.</summary>
public sealed class RedisRestartTests : IAsyncLifetime
{
    private PrivateRedis _redis = null!;

    public async Task InitializeAsync() => _redis = await PrivateRedis.StartAsync(appendOnly: true);

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task RedisKilledAndRestartedMidWork_HealthReportsOutageThenSummariesCorrect()
    {
        var generator = new BrandChunkGenerator(new BrandChunkSettings { Brands = 5, Chunks = 20_000, Bad = 0.02, Duplicates = 0.03, Seed = 21, BrandPrefix = "restart-" });
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration))
        {
            var db = connection.GetDatabase();
            await BrandWorkersSimulator.RegisterBrandsAsync(db, generator.BrandNames, asList: true);
            await BrandWorkersSimulator.PushAsync(db, generator);
        }

        await using var server = await BrandServer.StartAsync(BrandServer.Environment(_redis.Url, BrandServer.NewDirectory(), "orchestrator-restart"));
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration))
        {
            var db = connection.GetDatabase();
            await Poll.UntilAsync(() => db.KeyExistsAsync(BrandKeys.Summary(generator.BrandNames[0])), e => e, "the first summary");
        }

        _redis.Kill();
        var (downStatus, down) = await Poll.UntilAsync(server.HealthAsync, h => h.Status == 503, "/health to report the outage");
        Assert.Equal("degraded", down.GetProperty("status").GetString());
        Assert.False(down.GetProperty("redis").GetProperty("connected").GetBoolean());
        Assert.Equal(503, downStatus);

        await _redis.StartAgainAsync();
        var (upStatus, up) = await Poll.UntilAsync(server.HealthAsync, h => h.Status == 200, "/health to report Redis back");
        Assert.True(up.GetProperty("redis").GetProperty("connected").GetBoolean());

        await using var after = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        await Expectations.WaitUntilAllMatchAsync(after.GetDatabase(), generator, TimeSpan.FromSeconds(90));
        await Expectations.AssertExactlyOnceAsync(after.GetDatabase(), generator);
        Assert.Equal(200, upStatus);
    }
}
