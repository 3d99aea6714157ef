using Baton.Apps.BrandInsights.Tests.Infrastructure;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>A Redis that keeps its connections but does not answer (<c>CLIENT PAUSE</c>), on a Redis of this test's own.</summary>
public sealed class RedisPausedTests : PrivateRedisTests
{
    [Fact]
    public async Task RedisPaused_HealthDegraded503AndMetricSays0_ThenOkOnceItAnswers()
    {
        // Before: the multiplexer's socket stayed connected, so /health answered 200 "ok" and orchestrator_redis_connected 1
        // while no merge could run.
        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-paused"));
        Assert.Equal(200, (await server.HealthAsync()).Status);

        await RedisCli.RunAsync(Redis.Port, "CLIENT", "PAUSE", "8000", "ALL");
        var (status, body) = await server.HealthAsync();
        var metrics = await server.MetricsAsync();

        Assert.Equal(503, status);
        Assert.Equal("degraded", body.GetProperty("status").GetString());
        Assert.False(body.GetProperty("redis").GetProperty("connected").GetBoolean());
        Assert.Contains("orchestrator_redis_connected 0", metrics, StringComparison.Ordinal);

        await RedisCli.RunAsync(Redis.Port, "CLIENT", "UNPAUSE");
        var (upStatus, _) = await Poll.UntilAsync(server.HealthAsync, h => h.Status == 200, "/health once Redis answers again");
        Assert.Equal(200, upStatus);
    }
}
