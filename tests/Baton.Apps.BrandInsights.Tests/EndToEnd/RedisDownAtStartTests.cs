using Baton.Apps.BrandInsights.Tests.Infrastructure;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>No Redis at start: the server runs, the app reports it and the demo says how to start one.</summary>
public sealed class RedisDownAtStartTests
{
    [Fact]
    public async Task Start_NoRedisOnRedisUrl_ServerRunsHealthDegradedDemoLogsHowToStartOne()
    {
        var environment = BrandServer.Environment($"redis://127.0.0.1:{Ports.Free()}", BrandServer.NewDirectory(), "orchestrator-nored");
        environment["Baton__Apps__BrandInsights__Demo__Enabled"] = "true";

        await using var server = await BrandServer.StartAsync(environment);
        await server.Process.WaitForLineAsync(l => l.Contains("no Redis answers at the configured REDIS_URL", StringComparison.Ordinal), "the demo's line");
        var (status, health) = await server.HealthAsync();
        using var api = server.ApiClient();
        using var workflows = await api.GetAsync("/api/workflows");

        Assert.False(server.Process.HasExited);
        Assert.Equal(503, status);
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.False(health.GetProperty("redis").GetProperty("connected").GetBoolean());
        Assert.Equal(System.Net.HttpStatusCode.OK, workflows.StatusCode); // the rest of the server works
        Assert.Contains("orchestrator_redis_connected 0", await server.MetricsAsync(), StringComparison.Ordinal);
    }
}
