using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    /// <summary>
    /// Opens a new store on the data of <paramref name="closed"/>, which is already disposed: the same database file
    /// or schema, as a node restarted after a crash would.
    /// </summary>
    protected abstract Task<IBatonStore> ReopenStoreAsync(IBatonStore closed);

    /// <summary>Disposes <paramref name="store"/> and opens it again (see <see cref="ReopenStoreAsync"/>).</summary>
    protected async Task<IBatonStore> RestartAsync(IBatonStore store)
    {
        _stores.Remove(store);
        await ((IAsyncDisposable)store).DisposeAsync();
        var reopened = await ReopenStoreAsync(store);
        _stores.Add(reopened);
        return reopened;
    }

    [Fact]
    public async Task RecoverLeasesAsync_AfterRestart_NodeLeasesClaimableAtOnce()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        var restarted = await RestartAsync(store);
        var now = T0.AddSeconds(1);

        var result = await Assert.IsAssignableFrom<ILeaseRecovery>(restarted).RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", now));
        var claimed = Assert.Single(await ClaimAsync(restarted, result.Owner, now));

        Assert.Equal("node-a", result.Owner);
        Assert.Equal(1, result.Reclaimed);
        Assert.Equal(run.Id, claimed.Id);
        Assert.True(claimed.TakenOver);
        Assert.Equal(2, claimed.Executions);
    }

    [Fact]
    public async Task RecoverLeasesAsync_FinishedOrFreeRuns_Untouched()
    {
        var store = await NewStoreAsync();
        var finished = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, finished.Id, "node-a", Runs.RunStatus.Succeeded, T0);
        var pending = await CreateAsync(store, NewRun());
        var restarted = await RestartAsync(store);

        var result = await ((ILeaseRecovery)restarted).RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", T0.AddSeconds(1)));

        Assert.Equal(0, result.Reclaimed);
        var stillPending = await GetAsync(restarted, pending.Id);
        Assert.Null(stillPending.LeaseOwner);
        Assert.Equal(0, stillPending.Executions);
        Assert.Equal(Runs.RunStatus.Succeeded, (await GetAsync(restarted, finished.Id)).Status);
    }

    [Fact]
    public async Task ClaimRunsAsync_AttemptCutOffByLostLease_ClosedAsInterrupted()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        Assert.True(await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "done", 1, T0.AddSeconds(1))));
        Assert.True(await store.Steps.RecordAttemptEndedAsync(Ended(run.Id, "done", 1, T0.AddSeconds(1), T0.AddSeconds(2))));
        Assert.True(await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "cut", 1, T0.AddSeconds(3))));
        var takeover = T0.AddSeconds(31);

        Assert.Single(await ClaimAsync(store, "node-b", takeover));
        var attempts = (await store.Steps.GetAttemptsAsync(run.Id)).ToDictionary(a => a.StepKey);

        Assert.Equal(AttemptOutcome.Interrupted, attempts["cut"].Outcome);
        Assert.Equal(takeover, attempts["cut"].EndedAt);
        Assert.Equal(AttemptOutcome.Succeeded, attempts["done"].Outcome);
        Assert.Equal(T0.AddSeconds(2), attempts["done"].EndedAt);
    }

    [Fact]
    public async Task ClaimRunsAsync_FirstClaim_LeavesOtherRunsAttemptsAlone()
    {
        var store = await NewStoreAsync();
        var running = await CreateClaimedAsync(store, "node-a");
        Assert.True(await store.Steps.RecordAttemptStartedAsync(Started(running.Id, "live", 1, T0.AddSeconds(1))));
        await CreateAsync(store, NewRun());

        Assert.Single(await ClaimAsync(store, "node-b", T0.AddSeconds(2)));

        Assert.Equal(AttemptOutcome.Running, Assert.Single(await store.Steps.GetAttemptsAsync(running.Id)).Outcome);
    }
}
