using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    [Fact]
    public async Task CreateRunAsync_WithParent_StoresParentRunId()
    {
        var store = await NewStoreAsync();
        var parent = await CreateAsync(store, NewRun("parent"));

        var child = await CreateAsync(store, NewRun("child") with { ParentRunId = parent.Id });
        var leased = await CreateAsync(store, NewRun("child") with { ParentRunId = parent.Id, LeaseOwner = "node-a", LeaseExpiresAt = T0.AddMinutes(1) });

        Assert.Equal(parent.Id, child.ParentRunId);
        Assert.Equal(parent.Id, leased.ParentRunId);
        Assert.Equal(parent.Id, (await GetAsync(store, child.Id)).ParentRunId);
        Assert.Equal(parent.Id, (await GetAsync(store, leased.Id)).ParentRunId);
        Assert.Null((await GetAsync(store, parent.Id)).ParentRunId);
        Assert.Equal(parent.Id, Assert.Single(await ClaimAsync(store, "node-b", T0), r => r.Id == child.Id).ParentRunId);
    }

    [Fact]
    public async Task ListRunsAsync_ByParent_ReturnsOnlyThatRunsChildrenNewestFirst()
    {
        var store = await NewStoreAsync();
        var parent = await CreateAsync(store, NewRun("parent"));
        var other = await CreateAsync(store, NewRun("parent"));
        var first = await CreateAsync(store, NewRun("child") with { ParentRunId = parent.Id });
        var second = await CreateAsync(store, NewRun("child") with { ParentRunId = parent.Id });
        await CreateAsync(store, NewRun("child") with { ParentRunId = other.Id });

        var page = await store.Runs.ListRunsAsync(new ListRunsRequest { ParentRunId = parent.Id });

        Assert.Equal([second.Id, first.Id], page.Runs.Select(r => r.Id));
        Assert.Null(page.NextCursor);
    }

    [Fact]
    public async Task SendEventAsync_ChildEndedToSuspendedParent_MakesParentDueAtOnce()
    {
        var store = await NewStoreAsync();
        var parent = await CreateSuspendedAsync(store, T0.AddDays(1));
        var child = await CreateAsync(store, NewRun("child") with { ParentRunId = parent.Id });

        var sent = await store.Events.SendEventAsync(Event(parent.Id, "baton.child." + child.Id, key: child.Id, now: T0.AddSeconds(5)));
        var again = await store.Events.SendEventAsync(Event(parent.Id, "baton.child." + child.Id, key: child.Id, now: T0.AddSeconds(6)));

        Assert.Equal((SendEventOutcome.Stored, SendEventOutcome.Existing), (sent.Outcome, again.Outcome));
        Assert.Equal(T0.AddSeconds(5), (await GetAsync(store, parent.Id)).RunAfter);
        Assert.Contains(await ClaimAsync(store, "node-b", T0.AddSeconds(5)), r => r.Id == parent.Id);
    }
}
