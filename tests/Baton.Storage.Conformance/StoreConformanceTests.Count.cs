using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    [Fact]
    public async Task CountRunsAsync_EmptyStore_CountsNothing()
    {
        var store = await NewStoreAsync();

        var counts = await store.Runs.CountRunsAsync(new CountRunsRequest());

        Assert.Empty(counts.ByStatus);
        Assert.Equal(0, counts.Total);
        Assert.Equal(0, counts[RunStatus.Pending]);
    }

    [Fact]
    public async Task CountRunsAsync_NoFilter_CountsEveryRunByStatus()
    {
        var store = await NewStoreAsync();
        await SeedCountsAsync(store);

        var counts = await store.Runs.CountRunsAsync(new CountRunsRequest());

        Assert.Equal(
            new Dictionary<RunStatus, long> { [RunStatus.Pending] = 3, [RunStatus.Running] = 2, [RunStatus.Succeeded] = 1, [RunStatus.Failed] = 1 },
            counts.ByStatus.OrderBy(p => p.Key).ToDictionary());
        Assert.Equal(7, counts.Total);
    }

    [Fact]
    public async Task CountRunsAsync_WorkflowFilter_CountsOnlyThatWorkflow()
    {
        var store = await NewStoreAsync();
        await SeedCountsAsync(store);

        var counts = await store.Runs.CountRunsAsync(new CountRunsRequest { Workflow = "other" });

        Assert.Equal(new Dictionary<RunStatus, long> { [RunStatus.Pending] = 1, [RunStatus.Running] = 1 }, counts.ByStatus.OrderBy(p => p.Key).ToDictionary());
    }

    [Fact]
    public async Task CountRunsAsync_StatusesAndWorkflow_CountsOnlyThoseStatesOfThatWorkflow()
    {
        var store = await NewStoreAsync();
        await SeedCountsAsync(store);

        var counts = await store.Runs.CountRunsAsync(new CountRunsRequest
        {
            Workflow = "wf",
            Statuses = [RunStatus.Pending, RunStatus.Failed, RunStatus.Suspended, RunStatus.Pending],
        });

        Assert.Equal(new Dictionary<RunStatus, long> { [RunStatus.Pending] = 2, [RunStatus.Failed] = 1 }, counts.ByStatus.OrderBy(p => p.Key).ToDictionary());
        Assert.Equal(0, counts[RunStatus.Suspended]);
    }

    [Fact]
    public async Task CountRunsAsync_EmptyStatuses_CountsEveryState()
    {
        var store = await NewStoreAsync();
        await SeedCountsAsync(store);

        var counts = await store.Runs.CountRunsAsync(new CountRunsRequest { Statuses = [] });

        Assert.Equal(7, counts.Total);
    }

    /// <summary>wf: 2 pending, 1 running, 1 succeeded, 1 failed; other: 1 pending, 1 running.</summary>
    private static async Task SeedCountsAsync(IBatonStore store)
    {
        var succeeded = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, succeeded.Id, "node-a", RunStatus.Succeeded, T0.AddSeconds(1));
        var failed = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, failed.Id, "node-a", RunStatus.Failed, T0.AddSeconds(1));
        await CreateClaimedAsync(store, "node-a", NewRun("other"));
        await CreateClaimedAsync(store, "node-a");
        await CreateAsync(store, NewRun());
        await CreateAsync(store, NewRun());
        await CreateAsync(store, NewRun("other"));
    }
}
