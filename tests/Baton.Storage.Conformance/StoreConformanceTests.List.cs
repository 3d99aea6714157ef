using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    [Fact]
    public async Task ListRunsAsync_WithoutPayloads_InputAndOutputNullTheRestAsStored()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(1), Status = RunStatus.Succeeded, Output = """{"sum":5}""", ReleaseLease = true,
        }));

        var full = Assert.Single((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
        var lean = Assert.Single((await store.Runs.ListRunsAsync(new ListRunsRequest { WithoutPayloads = true })).Runs);

        Assert.NotNull(full.Output);
        Assert.Equal((null, null), (lean.Input, lean.Output));
        Assert.Equal(
            (full.Id, full.Workflow, full.Status, full.CreatedAt, full.StartedAt, full.CompletedAt, full.Executions, full.LeaseOwner),
            (lean.Id, lean.Workflow, lean.Status, lean.CreatedAt, lean.StartedAt, lean.CompletedAt, lean.Executions, lean.LeaseOwner));
    }

    [Fact]
    public async Task ListRunsAsync_NoFilter_ReturnsNewestFirst()
    {
        var store = await NewStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await CreateAsync(store, NewRun())).Id);
        }

        var page = await store.Runs.ListRunsAsync(new ListRunsRequest());

        Assert.Equal(Enumerable.Reverse(ids), page.Runs.Select(r => r.Id));
        Assert.Null(page.NextCursor);
    }

    [Fact]
    public async Task ListRunsAsync_Paging_VisitsEveryRunOnceAndEndsWithNullCursor()
    {
        var store = await NewStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add((await CreateAsync(store, NewRun())).Id);
        }

        var seen = new List<string>();
        var pages = 0;
        string? cursor = null;
        do
        {
            var page = await store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 3, Cursor = cursor });
            Assert.True(page.Runs.Count <= 3);
            seen.AddRange(page.Runs.Select(r => r.Id));
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Reverse(ids), seen);
    }

    [Fact]
    public async Task ListRunsAsync_ExactlyFullPage_HasNullCursor()
    {
        var store = await NewStoreAsync();
        for (var i = 0; i < 3; i++)
        {
            await CreateAsync(store, NewRun());
        }

        var page = await store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 3 });

        Assert.Equal(3, page.Runs.Count);
        Assert.Null(page.NextCursor);
    }

    [Fact]
    public async Task ListRunsAsync_WorkflowAndStatusFilters_ReturnOnlyMatches()
    {
        var store = await NewStoreAsync();
        var pendingA = await CreateAsync(store, NewRun("a") with { RunAfter = T0.AddDays(1) });
        var runningA = await CreateClaimedAsync(store, "node-a", NewRun("a"));
        var runningB = await CreateClaimedAsync(store, "node-a", NewRun("b"));

        var workflowA = await store.Runs.ListRunsAsync(new ListRunsRequest { Workflow = "a" });
        var running = await store.Runs.ListRunsAsync(new ListRunsRequest { Status = RunStatus.Running });
        var both = await store.Runs.ListRunsAsync(new ListRunsRequest { Workflow = "a", Status = RunStatus.Pending });

        Assert.Equal(new[] { runningA.Id, pendingA.Id }, workflowA.Runs.Select(r => r.Id));
        Assert.Equal(new[] { runningB.Id, runningA.Id }, running.Runs.Select(r => r.Id));
        Assert.Equal(pendingA.Id, Assert.Single(both.Runs).Id);
    }

    [Fact]
    public async Task ListRunsAsync_Statuses_ReturnsRunsInAnyOfThemNewestFirstInOneRead()
    {
        var store = await NewStoreAsync();
        var pendingA = await CreateAsync(store, NewRun("a") with { RunAfter = T0.AddDays(1) });
        var runningA = await CreateClaimedAsync(store, "node-a", NewRun("a"));
        var runningB = await CreateClaimedAsync(store, "node-a", NewRun("b"));
        var succeededA = await CreateClaimedAsync(store, "node-a", NewRun("a"));
        await FinishAsync(store, succeededA.Id, "node-a", RunStatus.Succeeded, T0.AddSeconds(1));

        var active = await store.Runs.ListRunsAsync(new ListRunsRequest { Workflow = "a", Statuses = [RunStatus.Running, RunStatus.Pending, RunStatus.Running] });
        var newestActive = await store.Runs.ListRunsAsync(new ListRunsRequest { Statuses = [RunStatus.Pending, RunStatus.Running], Limit = 1 });
        var withStatus = await store.Runs.ListRunsAsync(new ListRunsRequest { Status = RunStatus.Pending, Statuses = [RunStatus.Running, RunStatus.Pending] });
        var none = await store.Runs.ListRunsAsync(new ListRunsRequest { Statuses = [RunStatus.Cancelled] });
        var any = await store.Runs.ListRunsAsync(new ListRunsRequest { Statuses = [] });

        Assert.Equal(new[] { runningA.Id, pendingA.Id }, active.Runs.Select(r => r.Id));
        Assert.Equal(runningB.Id, Assert.Single(newestActive.Runs).Id);
        Assert.NotNull(newestActive.NextCursor);
        Assert.Equal(pendingA.Id, Assert.Single(withStatus.Runs).Id);
        Assert.Empty(none.Runs);
        Assert.Equal(4, any.Runs.Count);
    }

    [Fact]
    public async Task ListRunsAsync_CreatedRange_IncludesAfterExcludesBefore()
    {
        var store = await NewStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await CreateAsync(store, NewRun(now: T0.AddMinutes(i)))).Id);
        }

        var page = await store.Runs.ListRunsAsync(new ListRunsRequest
        {
            CreatedAfter = T0.AddMinutes(1),
            CreatedBefore = T0.AddMinutes(3),
        });

        Assert.Equal(new[] { ids[2], ids[1] }, page.Runs.Select(r => r.Id));
    }

    [Fact]
    public async Task ListRunsAsync_IdBounds_FromIncludedBelowExcluded()
    {
        var store = await NewStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await CreateAsync(store, NewRun())).Id);
        }

        var page = await store.Runs.ListRunsAsync(new ListRunsRequest { IdsFrom = ids[1], IdsBelow = ids[3] });
        var withCursor = await store.Runs.ListRunsAsync(new ListRunsRequest { IdsFrom = ids[1], Cursor = ids[2] });

        Assert.Equal(new[] { ids[2], ids[1] }, page.Runs.Select(r => r.Id));
        Assert.Equal(ids[1], Assert.Single(withCursor.Runs).Id);
    }

    [Fact]
    public async Task ListRunsAsync_LimitOutOfRange_IsClampedToOneAndFiveHundred()
    {
        var store = await NewStoreAsync();
        await Task.WhenAll(Enumerable.Range(0, 501).Select(_ => store.Runs.CreateRunAsync(NewRun())));

        var tiny = await store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 0 });
        var huge = await store.Runs.ListRunsAsync(new ListRunsRequest { Limit = 10_000 });

        Assert.Single(tiny.Runs);
        Assert.NotNull(tiny.NextCursor);
        Assert.Equal(500, huge.Runs.Count);
        Assert.NotNull(huge.NextCursor);
    }
}
