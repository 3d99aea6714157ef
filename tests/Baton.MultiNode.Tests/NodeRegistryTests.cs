using System.Diagnostics;
using System.Text.Json;
using Baton.MultiNode.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Baton.MultiNode.Tests;

[Collection(ClusterCollection.Name)]
public sealed class NodeRegistryTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private static async Task<string[]> LiveNodesAsync(BatonNode node)
    {
        var (_, body) = await node.HealthAsync();
        return body is { } b && b.GetProperty("nodes").ValueKind == JsonValueKind.Array
            ? [.. b.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("nodeId").GetString()!).Order(StringComparer.Ordinal)]
            : [];
    }

    [Fact]
    public async Task Health_NodeStoppedCleanlyAndNodeKilled_StoppedRemovedAtOnceKilledDropsOutAfterLiveWindow()
    {
        await using var deployment = await Deployment.CreateAsync(fixture.Cluster);
        var nodes = await deployment.StartNodesAsync(3);
        var all = await Poll.UntilAsync(() => LiveNodesAsync(nodes[0]), ids => ids.Length == 3, "all three nodes in /health");

        var stoppedExit = await nodes[2].TerminateAsync(TimeSpan.FromSeconds(30));
        var rowsAfterStop = await deployment.QueryAsync("SELECT node_id FROM baton.nodes ORDER BY node_id", r => r.GetString(0));
        var watch = Stopwatch.StartNew();
        deployment.Kill(nodes[1]);
        var listedAfterKill = await LiveNodesAsync(nodes[0]);
        await Poll.UntilAsync(() => LiveNodesAsync(nodes[0]), ids => ids.SequenceEqual([nodes[0].NodeId]), "the killed node to drop out of /health", TimeSpan.FromSeconds(15));
        var droppedAfter = watch.Elapsed;
        var rowsAfterKill = await deployment.QueryAsync("SELECT node_id FROM baton.nodes ORDER BY node_id", r => r.GetString(0));

        output.WriteLine($"listed {string.Join(", ", all)}; after SIGTERM of {nodes[2].NodeId} (exit {stoppedExit}) rows {string.Join(", ", rowsAfterStop)}; " +
            $"SIGKILLed {nodes[1].NodeId} left /health after {droppedAfter.TotalSeconds:0.0} s (live window 3 s); rows then {string.Join(", ", rowsAfterKill)}");
        Assert.Equal(0, stoppedExit);
        Assert.Equal([nodes[0].NodeId, nodes[1].NodeId], rowsAfterStop);
        Assert.Contains(nodes[1].NodeId, listedAfterKill);
        Assert.InRange(droppedAfter, TimeSpan.Zero, TimeSpan.FromSeconds(3 + 2));
        Assert.Equal([nodes[0].NodeId, nodes[1].NodeId], rowsAfterKill);
    }
}
