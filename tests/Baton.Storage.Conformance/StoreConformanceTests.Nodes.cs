using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    private static NodeHeartbeatRequest Beat(string nodeId, DateTimeOffset now, DateTimeOffset? startedAt = null, params string[] workflows) => new()
    {
        NodeId = nodeId,
        Host = "host-1",
        ProcessId = 4242,
        Version = "1.2.3",
        Workflows = workflows,
        StartedAt = startedAt ?? now,
        Now = now,
    };

    [Fact]
    public async Task HeartbeatNodeAsync_New_StoresAllFields()
    {
        var store = await NewStoreAsync();

        await store.Nodes.HeartbeatNodeAsync(Beat("node-a", T0.AddSeconds(5), T0, "alpha", "beta"));
        var node = Assert.Single(await store.Nodes.ListNodesAsync(new ListNodesRequest(T0)));

        Assert.Equal("node-a", node.NodeId);
        Assert.Equal("host-1", node.Host);
        Assert.Equal(4242, node.ProcessId);
        Assert.Equal("1.2.3", node.Version);
        Assert.Equal(["alpha", "beta"], node.Workflows);
        Assert.Equal(T0, node.StartedAt);
        Assert.Equal(T0.AddSeconds(5), node.HeartbeatAt);
    }

    [Fact]
    public async Task HeartbeatNodeAsync_Existing_UpdatesHeartbeatAndKeepsTheProcessStartedAt()
    {
        var store = await NewStoreAsync();
        await store.Nodes.HeartbeatNodeAsync(Beat("node-a", T0, T0, "alpha"));

        await store.Nodes.HeartbeatNodeAsync(Beat("node-a", T0.AddSeconds(10), T0, "alpha", "gamma"));
        var node = Assert.Single(await store.Nodes.ListNodesAsync(new ListNodesRequest(T0)));

        Assert.Equal(T0, node.StartedAt);
        Assert.Equal(T0.AddSeconds(10), node.HeartbeatAt);
        Assert.Equal(["alpha", "gamma"], node.Workflows);
    }

    [Fact]
    public async Task HeartbeatNodeAsync_WorkflowVersions_StoredReplacedAndReadBackNullWhenNoneRecorded()
    {
        // Before: a node's row kept workflow names only, so a v1 node and a v2 node that resumes v1 read alike.
        var store = await NewStoreAsync();
        await store.Nodes.HeartbeatNodeAsync(Beat("node-a", T0, T0, "alpha", "beta") with
        {
            WorkflowVersions = [new NodeWorkflowVersions("alpha", 3, [1, 2]), new NodeWorkflowVersions("beta", 1, [])],
        });
        await store.Nodes.HeartbeatNodeAsync(Beat("node-b", T0, T0, "alpha"));

        var first = await store.Nodes.ListNodesAsync(new ListNodesRequest(T0));
        await store.Nodes.HeartbeatNodeAsync(Beat("node-a", T0.AddSeconds(10), T0, "alpha") with
        {
            WorkflowVersions = [new NodeWorkflowVersions("alpha", 4, [3])],
        });
        var renewed = Assert.Single(await store.Nodes.ListNodesAsync(new ListNodesRequest(T0.AddSeconds(10))));

        Assert.Equal(["alpha v3 (resumes v1, v2)", "beta v1"], first[0].WorkflowVersions!.Select(w => w.Describe()));
        Assert.Null(first[1].WorkflowVersions);
        Assert.Equal(["alpha v4 (resumes v3)"], renewed.WorkflowVersions!.Select(w => w.Describe()));
    }

    [Fact]
    public async Task HeartbeatNodeAsync_NodeIdRestartedInANewProcess_ShowsTheNewProcessStart()
    {
        // Before: the row kept the first process's start next to the new process id.
        var store = await NewStoreAsync();
        await store.Nodes.HeartbeatNodeAsync(Beat("node-a", T0, T0));

        await store.Nodes.HeartbeatNodeAsync(Beat("node-a", T0.AddMinutes(5), T0.AddMinutes(5)) with { ProcessId = 5151 });
        var node = Assert.Single(await store.Nodes.ListNodesAsync(new ListNodesRequest(T0)));

        Assert.Equal((5151, T0.AddMinutes(5)), (node.ProcessId, node.StartedAt));
    }

    [Fact]
    public async Task ListNodesAsync_OlderHeartbeats_LeftOutAndOrderedById()
    {
        var store = await NewStoreAsync();
        await store.Nodes.HeartbeatNodeAsync(Beat("node-c", T0.AddSeconds(30)));
        await store.Nodes.HeartbeatNodeAsync(Beat("node-a", T0.AddSeconds(20)));
        await store.Nodes.HeartbeatNodeAsync(Beat("node-b", T0.AddSeconds(19)));

        var nodes = await store.Nodes.ListNodesAsync(new ListNodesRequest(T0.AddSeconds(20)));

        Assert.Equal(["node-a", "node-c"], nodes.Select(n => n.NodeId));
    }

    [Fact]
    public async Task RemoveNodeAsync_Recorded_RemovesOnlyThatNode()
    {
        var store = await NewStoreAsync();
        await store.Nodes.HeartbeatNodeAsync(Beat("node-a", T0));
        await store.Nodes.HeartbeatNodeAsync(Beat("node-b", T0));

        var removed = await store.Nodes.RemoveNodeAsync(new RemoveNodeRequest("node-a"));
        var again = await store.Nodes.RemoveNodeAsync(new RemoveNodeRequest("node-a"));

        Assert.True(removed);
        Assert.False(again);
        Assert.Equal(["node-b"], (await store.Nodes.ListNodesAsync(new ListNodesRequest(T0))).Select(n => n.NodeId));
    }

    [Fact]
    public async Task PruneNodesAsync_SilentNodes_Removed()
    {
        var store = await NewStoreAsync();
        await store.Nodes.HeartbeatNodeAsync(Beat("old", T0));
        await store.Nodes.HeartbeatNodeAsync(Beat("new", T0.AddHours(2)));

        var pruned = await store.Nodes.PruneNodesAsync(new PruneNodesRequest(T0.AddHours(1)));

        Assert.Equal(1, pruned);
        Assert.Equal(["new"], (await store.Nodes.ListNodesAsync(new ListNodesRequest(T0.AddYears(-1)))).Select(n => n.NodeId));
    }
}
