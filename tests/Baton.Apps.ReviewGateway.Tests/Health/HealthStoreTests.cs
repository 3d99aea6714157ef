using System.Net;
using System.Text.Json;
using Baton.Apps.ReviewGateway.Tests.Infrastructure;
using Baton.Simulators.WorkerNode;

namespace Baton.Apps.ReviewGateway.Tests.Health;

/// <summary>The gateway's <c>GET /health</c> when its store stops answering: the route, not only the store's ping.</summary>
public sealed class HealthStoreTests
{
    [Fact]
    public async Task Health_PostgresFrozenWithSigstop_503UnhealthyStoreUnreachable_HealthyAgainOnceItAnswers()
    {
        // Every PostgreSQL process of a cluster of its own stopped with SIGSTOP: connections open, no answer.
        await using var cluster = await PostgresCluster.StartAsync();
        await using var worker = await WorkerNodeSimulator.StartAsync(Ports.Free());
        await using var server = await GatewayServer.StartOnPostgresAsync(cluster, worker.BaseAddress);
        var (healthyStatus, healthy) = await HealthAsync(server);

        await cluster.FreezeServerAsync();
        HttpStatusCode frozenStatus;
        JsonElement frozen;
        try
        {
            (frozenStatus, frozen) = await HealthAsync(server);
        }
        finally
        {
            await cluster.ResumeServerAsync();
        }

        var again = await Poll.UntilAsync(() => HealthAsync(server), h => h.Status == HttpStatusCode.OK, "/health to answer 200 again", TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, healthyStatus);
        Assert.Equal(("healthy", "ok", 0), (healthy.GetProperty("status").GetString(), healthy.GetProperty("store").GetString(), healthy.GetProperty("jobs_pending_forward").GetInt32()));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, frozenStatus);
        Assert.Equal(("unhealthy", "unreachable"), (frozen.GetProperty("status").GetString(), frozen.GetProperty("store").GetString()));
        Assert.False(frozen.TryGetProperty("jobs_pending_forward", out _));
        Assert.Equal("ok", again.Body.GetProperty("store").GetString());
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> HealthAsync(GatewayServer server)
    {
        using var response = await server.Gateway.GetAsync("/health");
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }
}
