using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    private const string Parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    [Fact]
    public async Task CreateRunAsync_WithTraceContext_StoresAndReadsItOnEveryPath()
    {
        var store = await NewStoreAsync();

        var pending = await CreateAsync(store, NewRun("sync") with { TraceParent = Parent, TraceState = "vendor=a" });
        var leased = await CreateAsync(store, NewRun("sync") with { TraceParent = Parent, LeaseOwner = "node-a", LeaseExpiresAt = T0.AddSeconds(10) });
        var batch = await store.Runs.CreateRunsAsync(new CreateRunsRequest([NewRun("sync") with { TraceParent = Parent, TraceState = "b=1" }]));

        Assert.Equal((Parent, "vendor=a"), (pending.TraceParent, pending.TraceState));
        Assert.Equal((Parent, "vendor=a"), ((await GetAsync(store, pending.Id)).TraceParent, (await GetAsync(store, pending.Id)).TraceState));
        Assert.Equal((Parent, (string?)null), (leased.TraceParent, leased.TraceState));
        Assert.Equal((Parent, "b=1"), (batch[0].Run.TraceParent, batch[0].Run.TraceState));
        var claimed = await ClaimAsync(store, "node-b", T0);
        Assert.All(claimed, r => Assert.Equal(Parent, r.TraceParent));
        Assert.Contains(claimed, r => r.Id == pending.Id && r.TraceState == "vendor=a");
        // A takeover after the lease expired carries the context too: the next execution continues the same trace.
        var takenOver = Assert.Single(await ClaimAsync(store, "node-c", T0.AddSeconds(11)), r => r.Id == leased.Id);
        Assert.True(takenOver.TakenOver);
        Assert.Equal(Parent, takenOver.TraceParent);
    }

    [Fact]
    public async Task CreateRunAsync_WithoutTraceContext_ReadsNull()
    {
        var store = await NewStoreAsync();

        var run = await CreateAsync(store, NewRun("sync"));

        Assert.Null(run.TraceParent);
        Assert.Null((await GetAsync(store, run.Id)).TraceParent);
        Assert.Null(Assert.Single(await ClaimAsync(store, "node-a", T0)).TraceState);
    }
}
