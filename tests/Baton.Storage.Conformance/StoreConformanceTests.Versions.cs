using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    [Fact]
    public async Task CreateRunAsync_WithWorkflowVersion_StoresAndReadsVersion()
    {
        var store = await NewStoreAsync();

        var plain = await CreateAsync(store, NewRun("sync"));
        var v2 = await CreateAsync(store, NewRun("sync") with { WorkflowVersion = 2 });
        var leased = await CreateAsync(store, NewRun("sync") with { WorkflowVersion = 3, LeaseOwner = "node-a", LeaseExpiresAt = T0.AddMinutes(1) });

        Assert.Equal((1, 2, 3), (plain.WorkflowVersion, v2.WorkflowVersion, leased.WorkflowVersion));
        Assert.Equal(1, (await GetAsync(store, plain.Id)).WorkflowVersion);
        Assert.Equal(2, (await GetAsync(store, v2.Id)).WorkflowVersion);
        Assert.Equal(3, (await GetAsync(store, leased.Id)).WorkflowVersion);
        Assert.Equal(2, Assert.Single(await ClaimAsync(store, "node-b", T0), r => r.Id == v2.Id).WorkflowVersion);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task CreateRunAsync_WorkflowVersionBelowOne_ThrowsAndStoresNothing(int version)
    {
        var store = await NewStoreAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => store.Runs.CreateRunAsync(NewRun("sync") with { WorkflowVersion = version }));

        Assert.Empty((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task ClaimRunsAsync_WorkflowVersionFilter_ClaimsOnlyListedVersions()
    {
        var store = await NewStoreAsync();
        var v1 = await CreateAsync(store, NewRun("sync"));
        var v2 = await CreateAsync(store, NewRun("sync") with { WorkflowVersion = 2 });

        var onlyV2 = await ClaimVersionsAsync(store, "node-a", T0, [ClaimRunsRequest.WorkflowVersionKey("sync", 2)]);
        var otherWorkflow = await ClaimVersionsAsync(store, "node-b", T0, [ClaimRunsRequest.WorkflowVersionKey("report", 1)]);
        var v1AndV2 = await ClaimVersionsAsync(store, "node-c", T0, ["sync@1", "sync@2"]);

        Assert.Equal(v2.Id, Assert.Single(onlyV2).Id);
        Assert.Empty(otherWorkflow);
        Assert.Equal(v1.Id, Assert.Single(v1AndV2).Id);
    }

    [Fact]
    public async Task ClaimRunsAsync_WorkflowVersionFilter_TakesOverOnlyListedVersions()
    {
        var store = await NewStoreAsync();
        var v1 = await CreateAsync(store, NewRun("sync") with { LeaseOwner = "dead", LeaseExpiresAt = T0.AddSeconds(10) });
        var v2 = await CreateAsync(store, NewRun("sync") with { WorkflowVersion = 2, LeaseOwner = "dead", LeaseExpiresAt = T0.AddSeconds(10) });

        var taken = await ClaimVersionsAsync(store, "node-a", T0.AddSeconds(11), ["sync@2"]);

        var run = Assert.Single(taken);
        Assert.Equal(v2.Id, run.Id);
        Assert.True(run.TakenOver);
        Assert.Equal("dead", (await GetAsync(store, v1.Id)).LeaseOwner);
    }

    private static Task<IReadOnlyList<RunRecord>> ClaimVersionsAsync(
        IBatonStore store, string owner, DateTimeOffset now, IReadOnlyCollection<string> versions) =>
        store.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = owner, MaxRuns = 10, Now = now, LeaseExpiresAt = now.AddSeconds(30),
            Workflows = ["sync", "report"], WorkflowVersions = versions,
        });
}
