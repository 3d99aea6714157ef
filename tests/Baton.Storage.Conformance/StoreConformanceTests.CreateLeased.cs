using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

/// <summary>A run created with a lease: the creating node starts it without a claim.</summary>
public abstract partial class StoreConformanceTests
{
    [Fact]
    public async Task CreateRunAsync_WithLease_StoresRunningRunHeldByOwnerThatNoOtherNodeClaims()
    {
        var store = await NewStoreAsync();
        var request = NewRun() with { LeaseOwner = "node-a", LeaseExpiresAt = T0.AddSeconds(30) };

        var result = await store.Runs.CreateRunAsync(request);
        var stored = await GetAsync(store, request.Id);

        Assert.Equal(CreateRunOutcome.Created, result.Outcome);
        AssertSameRun(result.Run, stored);
        Assert.Equal(RunStatus.Running, stored.Status);
        Assert.Equal("node-a", stored.LeaseOwner);
        Assert.Equal(T0.AddSeconds(30), stored.LeaseExpiresAt);
        Assert.Equal(T0, stored.StartedAt);
        Assert.Equal(1, stored.Executions);
        Assert.Empty(await ClaimAsync(store, "node-b", T0.AddSeconds(29)));
        // The owner writes under it as under a claimed lease.
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = request.Id, Owner = "node-a", Now = T0.AddSeconds(1), Phase = "p" }));
    }

    [Fact]
    public async Task CreateRunAsync_WithLeaseForExistingIdempotencyKey_ReturnsExistingRunUnleased()
    {
        var store = await NewStoreAsync();
        var first = await CreateAsync(store, NewRun() with { IdempotencyKey = "job-1" });

        var second = await store.Runs.CreateRunAsync(NewRun() with
        {
            IdempotencyKey = "job-1", LeaseOwner = "node-a", LeaseExpiresAt = T0.AddSeconds(30),
        });

        Assert.Equal(CreateRunOutcome.Existing, second.Outcome);
        Assert.Equal(first.Id, second.Run.Id);
        var stored = await GetAsync(store, first.Id);
        Assert.Equal(RunStatus.Pending, stored.Status);
        Assert.Null(stored.LeaseOwner);
        Assert.Equal(0, stored.Executions);
    }

    [Fact]
    public async Task CreateRunAsync_WithLeaseAtConcurrencyLimit_ReturnsConflictAndStoresNothing()
    {
        var store = await NewStoreAsync();
        var holder = await CreateAsync(store, NewRun() with { ConcurrencyKey = "job-2" });
        var request = NewRun() with { ConcurrencyKey = "job-2", LeaseOwner = "node-a", LeaseExpiresAt = T0.AddSeconds(30) };

        var result = await store.Runs.CreateRunAsync(request);

        Assert.Equal(CreateRunOutcome.Conflict, result.Outcome);
        Assert.Equal(holder.Id, result.Run.Id);
        Assert.Null(await store.Runs.GetRunAsync(request.Id));
    }

    [Theory]
    [InlineData(true, false, 0)]
    [InlineData(false, true, 0)]
    [InlineData(true, true, 1)]
    public async Task CreateRunAsync_InvalidLease_ThrowsAndStoresNothing(bool owner, bool expiry, int runAfterSeconds)
    {
        var store = await NewStoreAsync();
        var request = NewRun() with
        {
            LeaseOwner = owner ? "node-a" : null,
            LeaseExpiresAt = expiry ? T0.AddSeconds(30) : null,
            RunAfter = T0.AddSeconds(runAfterSeconds),
        };

        await Assert.ThrowsAsync<ArgumentException>(() => store.Runs.CreateRunAsync(request));

        Assert.Null(await store.Runs.GetRunAsync(request.Id));
    }
}
