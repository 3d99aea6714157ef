using System.Diagnostics;
using System.Net;
using Baton.MultiNode.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Baton.MultiNode.Tests;

[Collection(ClusterCollection.Name)]
public sealed class OutageTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task PostgresDown10s_NodesReportUnhealthyThenRecover_NoRunLost()
    {
        await using var deployment = await Deployment.CreateAsync(fixture.Cluster);
        var nodes = await deployment.StartNodesAsync(2);
        var before = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var (status, id) = await nodes[i % 2].StartRunAsync("chain", new { steps = 8, stepMs = 1000 });
            Assert.Equal(HttpStatusCode.Accepted, status);
            before.Add(id!);
        }

        await Poll.UntilAsync(() => deployment.CountAsync("SELECT count(DISTINCT run_id) FROM effects.attempts"), n => n == 20, "every run to be executing");

        // The outage: the cluster stops (connections cut), stays down 10 s, starts again on the same port.
        var watch = Stopwatch.StartNew();
        await fixture.Cluster.StopServerAsync();
        var duringOutage = nodes.ToDictionary(n => n.NodeId, _ => new List<string>());
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            foreach (var node in nodes)
            {
                var (status, body) = await node.HealthAsync();
                duringOutage[node.NodeId].Add($"{(int?)status}/{body?.GetProperty("store").GetProperty("status").GetString()}");
            }

            await Task.Delay(500);
        }

        await fixture.Cluster.StartServerAsync();
        var restartedAt = watch.Elapsed;
        // The test's own pooled connections died with the server (the nodes must find that out by themselves).
        deployment.Database.Clear();
        foreach (var node in nodes)
        {
            await Poll.UntilAsync(
                async () => await node.HealthAsync(),
                h => h.Status == HttpStatusCode.OK && h.Body!.Value.GetProperty("nodes").GetArrayLength() == 2,
                $"{node.NodeId} to report ready with both nodes listed",
                TimeSpan.FromSeconds(30),
                TimeSpan.FromMilliseconds(200));
        }

        var healthyAfter = watch.Elapsed - restartedAt;
        await Poll.UntilAsync(
            () => deployment.CountAsync($"SELECT count(*) FROM baton.runs WHERE status >= 10 AND id IN ({string.Join(',', before.Select(id => $"'{id}'"))})"),
            n => n == 20,
            "the runs started before the outage to finish",
            TimeSpan.FromSeconds(90),
            TimeSpan.FromMilliseconds(250));
        var beforeDoneAfter = watch.Elapsed - restartedAt;

        var after = new List<string>();
        foreach (var node in nodes)
        {
            for (var i = 0; i < 5; i++)
            {
                var (status, id) = await node.StartRunAsync("chain", new { steps = 2, stepMs = 10 });
                Assert.Equal(HttpStatusCode.Accepted, status);
                after.Add(id!);
            }
        }

        await Poll.UntilAsync(
            () => deployment.CountAsync($"SELECT count(*) FROM baton.runs WHERE status >= 10 AND id IN ({string.Join(',', after.Select(id => $"'{id}'"))})"),
            n => n == 10,
            "the runs started after the outage to finish",
            TimeSpan.FromSeconds(30));

        var succeeded = await deployment.CountAsync("SELECT count(*) FROM baton.runs WHERE status = 10");
        var audit = await deployment.AuditStepsAsync();
        output.WriteLine($"health during the outage: {string.Join("; ", duringOutage.Select(p => $"{p.Key}: {string.Join(' ', p.Value)}"))}");
        output.WriteLine($"both nodes ready {healthyAfter.TotalSeconds:0.0} s after PostgreSQL restarted; the 20 earlier runs finished " +
            $"{beforeDoneAfter.TotalSeconds:0.0} s after it; {succeeded}/30 succeeded; {audit}");
        Assert.All(nodes, n => Assert.False(n.HasExited, $"{n.NodeId} exited: {n.Output}"));
        Assert.All(duringOutage.Values, statuses => Assert.Contains("503/unreachable", statuses));
        Assert.Equal(30, succeeded);
        Assert.Equal(0, audit.AttemptsAfterCompletion);
        Assert.Equal(0, audit.CompletedWithoutEffect);
        Assert.Equal(0, audit.OverlappingAttempts);
    }
}
