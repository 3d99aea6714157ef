using Baton.Core.Tests.Support;
using Baton.Nodes;
using Baton.Storage;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Nodes;

/// <summary>The node registry on a fake clock: heartbeats come from advancing it, never from waiting.</summary>
public sealed class NodeRegistryTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private static Task<EngineHarness> StartAsync() =>
        EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("zeta", (_, i, _) => Task.FromResult(i)).AddWorkflow<int, int>("alpha", (_, i, _) => Task.FromResult(i)),
            o => o.HeartbeatInterval = Interval);

    /// <summary>Waits for the store to show the heartbeat write the clock caused (an effect, not a time: no clock moves here).</summary>
    private static async Task<NodeRecord> WaitForNodeAsync(EngineHarness harness, Func<NodeRecord, bool> until)
    {
        var nodes = await Poll.UntilAsync(
            () => harness.Store.Nodes.ListNodesAsync(new ListNodesRequest(DateTimeOffset.MinValue)),
            all => all.Any(n => n.NodeId == "node-a" && until(n)),
            "node-a's heartbeat",
            TimeSpan.FromSeconds(60));
        return nodes.First(n => n.NodeId == "node-a");
    }

    /// <summary>Moves the clock to the next heartbeat once its timer is armed, so the tick cannot be missed.</summary>
    private static Task NextHeartbeatAsync(EngineHarness harness, int beat) =>
        harness.Time.AdvanceToTimerAsync(EngineHarness.Start + (Interval * beat));

    [Fact]
    public async Task Start_RecordsThisNodeWithItsWorkflows()
    {
        await using var harness = await StartAsync();

        var node = await WaitForNodeAsync(harness, _ => true);

        Assert.Equal(EngineHarness.Start, node.StartedAt);
        Assert.Equal(EngineHarness.Start, node.HeartbeatAt);
        Assert.Equal(["alpha", "zeta"], node.Workflows);
        Assert.Equal(Environment.ProcessId, node.ProcessId);
        Assert.Equal(Environment.MachineName, node.Host);
    }

    [Fact]
    public async Task Start_RecordsTheVersionEachWorkflowRunsAndTheVersionsItResumes()
    {
        // Before: names only, so a node running v1 and one running v3 that resumes v1 and v2 were recorded alike.
        await using var harness = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("zeta", (_, i, _) => Task.FromResult(i), o => { o.Version = 3; o.ResumesVersions = [2, 1]; })
                .AddWorkflow<int, int>("alpha", (_, i, _) => Task.FromResult(i)),
            o => o.HeartbeatInterval = Interval);

        var node = await WaitForNodeAsync(harness, _ => true);

        Assert.Equal(["alpha", "zeta"], node.Workflows);
        Assert.Equal(["alpha v1", "zeta v3 (resumes v1, v2)"], node.WorkflowVersions!.Select(w => w.Describe()));
    }

    [Fact]
    public async Task Heartbeat_IntervalPassed_RenewsHeartbeatKeepsStartedAt()
    {
        await using var harness = await StartAsync();
        await WaitForNodeAsync(harness, _ => true);

        await NextHeartbeatAsync(harness, 1);
        var node = await WaitForNodeAsync(harness, n => n.HeartbeatAt > EngineHarness.Start);

        Assert.Equal(EngineHarness.Start + Interval, node.HeartbeatAt);
        Assert.Equal(EngineHarness.Start, node.StartedAt);
    }

    [Fact]
    public async Task ListLiveNodesAsync_NodeSilentLongerThanThreeIntervals_LeftOut()
    {
        await using var harness = await StartAsync();
        var nodes = harness.Services.GetRequiredService<IBatonNodes>();
        await harness.Store.Nodes.HeartbeatNodeAsync(new NodeHeartbeatRequest
        {
            NodeId = "node-b", Host = "elsewhere", ProcessId = 1, Version = "1.0.0", StartedAt = EngineHarness.Start, Now = EngineHarness.Start,
        });

        for (var beat = 1; beat <= 3; beat++)
        {
            await NextHeartbeatAsync(harness, beat);
            await WaitForNodeAsync(harness, n => n.HeartbeatAt == EngineHarness.Start + (Interval * beat));
        }

        var atWindow = await nodes.ListLiveNodesAsync();
        harness.Time.Advance(TimeSpan.FromMilliseconds(1));
        var afterWindow = await nodes.ListLiveNodesAsync();

        Assert.Equal(Interval * 3, nodes.LiveWindow);
        Assert.Equal(["node-a", "node-b"], atWindow.Select(n => n.NodeId));
        Assert.Equal(["node-a"], afterWindow.Select(n => n.NodeId));
    }

    [Fact]
    public async Task Stop_CleanShutdown_RemovesThisNode()
    {
        await using var harness = await StartAsync();
        await WaitForNodeAsync(harness, _ => true);

        await harness.StopAsync();
        var nodes = await harness.Store.Nodes.ListNodesAsync(new ListNodesRequest(DateTimeOffset.MinValue));

        Assert.Empty(nodes);
    }

    [Fact]
    public async Task Heartbeat_NodeDeadLongerThanPruneAfter_RowRemoved()
    {
        await using var harness = await StartAsync();
        await harness.Store.Nodes.HeartbeatNodeAsync(new NodeHeartbeatRequest
        {
            NodeId = "dead", Host = "elsewhere", ProcessId = 1, Version = "1.0.0", StartedAt = EngineHarness.Start, Now = EngineHarness.Start,
        });

        await WaitForNodeAsync(harness, _ => true);

        harness.Time.Advance(NodeRegistry.PruneAfter + TimeSpan.FromSeconds(1));
        var all = await Poll.UntilAsync(
            () => harness.Store.Nodes.ListNodesAsync(new ListNodesRequest(DateTimeOffset.MinValue)),
            nodes => nodes.All(n => n.NodeId != "dead"),
            "the dead node's row to be pruned",
            TimeSpan.FromSeconds(60));

        Assert.Equal(["node-a"], all.Select(n => n.NodeId));
    }
}
