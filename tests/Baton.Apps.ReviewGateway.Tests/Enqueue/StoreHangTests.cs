using System.Net;
using System.Text;
using Baton.Apps.ReviewGateway.Tests.Infrastructure;
using Baton.Simulators.WorkerNode;

namespace Baton.Apps.ReviewGateway.Tests.Enqueue;

/// <summary><c>POST /enqueue</c> on a PostgreSQL that hangs: answered at Baton:RequestTimeout in the seed's error shape.</summary>
public sealed class StoreHangTests
{
    [Fact]
    public async Task Enqueue_PostgresFrozenWithSigstop_503InTheSeedsShapeWithinTheRequestTimeout_RepeatDeliversTheJob()
    {
        // Every PostgreSQL process stopped with SIGSTOP: connections open, no answer. Before, /enqueue skipped the API's time
        // limit (it runs from routing) and held the request for as long as the store hung: past this client's 30 s.
        await using var cluster = await PostgresCluster.StartAsync();
        await using var worker = await WorkerNodeSimulator.StartAsync(Ports.Free());
        await using var server = await GatewayServer.StartOnPostgresAsync(cluster, worker.BaseAddress, new Dictionary<string, string>
        {
            ["Baton:RequestTimeout"] = "00:00:03",
            // A run stored while the request had given up on it is leased to this node; the short lease runs it soon after.
            ["Baton:Engine:LeaseDuration"] = "00:00:04",
            ["Baton:Engine:HeartbeatInterval"] = "00:00:01",
        });
        var before = await server.EnqueueAsync("before-freeze");
        Assert.Equal(HttpStatusCode.Accepted, before.Status);

        await cluster.FreezeServerAsync();
        HttpResponseMessage frozen;
        try
        {
            using var content = new StringContent("""{"placeId":"during-freeze"}""", Encoding.UTF8, "application/json");
            frozen = await server.Gateway.PostAsync("/enqueue", content);
        }
        finally
        {
            await cluster.ResumeServerAsync();
        }

        using (frozen)
        {
            var body = await GatewayServer.ReadJsonAsync(frozen);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, frozen.StatusCode);
            Assert.Equal("1", frozen.Headers.GetValues("Retry-After").Single());
            Assert.Equal("error", body.GetProperty("status").GetString());
            Assert.Contains("did not answer within 3 s", body.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.True(body.TryGetProperty("timestamp", out _));
        }

        Assert.Contains(server.Logs.Entries, e => e.EventId == 2006 && e.Message.Contains("reviews:during-freeze:start", StringComparison.Ordinal));

        // The store answers again: the repeat the 503 asks for is accepted, and the job reaches the worker.
        var repeat = await Poll.UntilAsync(() => server.EnqueueAsync("during-freeze"), r => r.Status == HttpStatusCode.Accepted, "the repeated enqueue once PostgreSQL goes on");
        Assert.Equal("reviews:during-freeze:start", repeat.Body.GetProperty("jobId").GetString());
        await Poll.UntilAsync(() => Task.FromResult(worker.State.Jobs.ContainsKey("reviews:during-freeze:start")), found => found, "the job at the worker");
        Assert.True(worker.State.Jobs.ContainsKey("reviews:before-freeze:start"));
    }
}
