using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    public static TheoryData<string> NulFields => ["IdempotencyKey", "ConcurrencyKey", "CorrelationId", "Workflow", "Input"];

    [Theory]
    [MemberData(nameof(NulFields))]
    public async Task CreateRunAsync_FieldHoldsNul_ThrowsArgumentExceptionAndStoresNothing(string field)
    {
        // PostgreSQL text cannot hold U+0000: every store refuses it the same way, before writing.
        var store = await NewStoreAsync();
        var request = field switch
        {
            "IdempotencyKey" => NewRun() with { IdempotencyKey = "order\07" },
            "ConcurrencyKey" => NewRun() with { ConcurrencyKey = "tenant\01" },
            "CorrelationId" => NewRun() with { CorrelationId = "corr\0" },
            "Workflow" => NewRun("wf\0"),
            _ => NewRun() with { Input = "{\"a\":\"\0\"}" },
        };

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => store.Runs.CreateRunAsync(request));
        var refusedInBatch = await Assert.ThrowsAsync<ArgumentException>(() => store.Runs.CreateRunsAsync(new CreateRunsRequest([NewRun(), request])));

        Assert.Equal("request." + field, refused.ParamName);
        Assert.Equal("request." + field, refusedInBatch.ParamName);
        Assert.Empty((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task CreateRunAsync_ConcurrencyKeyOverTheLimit_ThrowsArgumentExceptionAndStoresNothing_AtTheLimitStored()
    {
        // PostgreSQL indexes the key and a B-tree entry holds at most 2,704 bytes: every store keeps the same limit, in
        // characters, and the longest key at the limit is stored on each, in the characters that take the most UTF-8
        // bytes per character (three: a surrogate pair is two characters in four bytes).
        var store = await NewStoreAsync();
        var longest = new string('\u4E2D', RunLimits.MaxConcurrencyKeyLength);
        var request = NewRun() with { ConcurrencyKey = longest + "x" };

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => store.Runs.CreateRunAsync(request));
        Assert.Equal("request.ConcurrencyKey", refused.ParamName);
        Assert.Empty((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);

        var stored = await store.Runs.CreateRunAsync(NewRun() with { ConcurrencyKey = longest });
        Assert.Equal(CreateRunOutcome.Created, stored.Outcome);
        Assert.Equal(longest, (await store.Runs.GetRunAsync(stored.Run.Id))!.ConcurrencyKey);
    }

    [Fact]
    public async Task CreateRunAsync_NewRun_StoresPendingRunWithRequestFields()
    {
        var store = await NewStoreAsync();
        var request = NewRun("catalog-sync") with
        {
            Input = """{"feed":"a"}""",
            ConcurrencyKey = "tenant-1",
            ConcurrencyLimit = 2,
            CorrelationId = "corr-1",
            RunAfter = T0.AddMinutes(5),
            DeadlineAt = T0.AddHours(1),
        };

        var result = await store.Runs.CreateRunAsync(request);
        var stored = await GetAsync(store, request.Id);

        Assert.Equal(CreateRunOutcome.Created, result.Outcome);
        foreach (var run in new[] { result.Run, stored })
        {
            Assert.Equal(request.Id, run.Id);
            Assert.Equal("catalog-sync", run.Workflow);
            Assert.Equal(RunStatus.Pending, run.Status);
            Assert.Equal("""{"feed":"a"}""", run.Input);
            Assert.Equal("tenant-1", run.ConcurrencyKey);
            Assert.Equal(2, run.ConcurrencyLimit);
            Assert.Equal("corr-1", run.CorrelationId);
            Assert.Equal(T0, run.CreatedAt);
            Assert.Equal(T0, run.UpdatedAt);
            Assert.Equal(T0.AddMinutes(5), run.RunAfter);
            Assert.Equal(T0.AddHours(1), run.DeadlineAt);
            Assert.Null(run.StartedAt);
            Assert.Null(run.CompletedAt);
            Assert.Null(run.LeaseOwner);
            Assert.Null(run.Output);
            Assert.Null(run.Failure);
            Assert.Empty(run.Progress);
            Assert.Empty(run.Errors);
            Assert.False(run.CancelRequested);
            Assert.Equal(0, run.Executions);
        }
    }

    [Fact]
    public async Task CreateRunAsync_NoRunAfter_IsDueAtNow()
    {
        var store = await NewStoreAsync();

        var run = await CreateAsync(store, NewRun());

        Assert.Equal(T0, (await GetAsync(store, run.Id)).RunAfter);
    }

    [Fact]
    public async Task GetRunAsync_UnknownId_ReturnsNull()
    {
        var store = await NewStoreAsync();

        Assert.Null(await store.Runs.GetRunAsync(NewId()));
    }

    [Fact]
    public async Task CreateRunAsync_SameIdempotencyKeyTwice_ReturnsExistingRun()
    {
        var store = await NewStoreAsync();
        var first = await CreateAsync(store, NewRun() with { IdempotencyKey = "order-42" });

        var second = await store.Runs.CreateRunAsync(NewRun() with { IdempotencyKey = "order-42", Now = T0.AddMinutes(1) });

        Assert.Equal(CreateRunOutcome.Existing, second.Outcome);
        Assert.Equal(first.Id, second.Run.Id);
        Assert.Equal(T0, second.Run.CreatedAt);
        Assert.Single((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task CreateRunAsync_SameIdempotencyKeyOtherWorkflow_CreatesSecondRun()
    {
        var store = await NewStoreAsync();
        await CreateAsync(store, NewRun("a") with { IdempotencyKey = "k" });

        var other = await store.Runs.CreateRunAsync(NewRun("b") with { IdempotencyKey = "k" });

        Assert.Equal(CreateRunOutcome.Created, other.Outcome);
        Assert.Equal(2, (await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs.Count);
    }

    [Fact]
    public async Task CreateRunAsync_ConcurrentSameIdempotencyKey_CreatesExactlyOneRun()
    {
        var store = await NewStoreAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            Task.Run(() => store.Runs.CreateRunAsync(NewRun() with { IdempotencyKey = "same" }))));

        var created = Assert.Single(results, r => r.Outcome == CreateRunOutcome.Created);
        Assert.All(results, r => Assert.Equal(created.Run.Id, r.Run.Id));
        Assert.Single((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task CreateRunAsync_SameScheduleFireTime_ReturnsExistingRun()
    {
        var store = await NewStoreAsync();
        var fire = T0.AddHours(1);
        var first = await CreateAsync(store, NewRun() with { ScheduleName = "nightly", ScheduledFireTime = fire });

        var again = await store.Runs.CreateRunAsync(NewRun() with { ScheduleName = "nightly", ScheduledFireTime = fire });
        var nextFire = await store.Runs.CreateRunAsync(NewRun() with { ScheduleName = "nightly", ScheduledFireTime = fire.AddDays(1) });

        Assert.Equal(CreateRunOutcome.Existing, again.Outcome);
        Assert.Equal(first.Id, again.Run.Id);
        Assert.Equal(CreateRunOutcome.Created, nextFire.Outcome);
        Assert.Equal(2, (await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs.Count);
    }

    [Fact]
    public async Task CreateRunAsync_ConcurrencyLimitOne_ConflictNamesActiveRun()
    {
        var store = await NewStoreAsync();
        var holder = await CreateAsync(store, NewRun() with { ConcurrencyKey = "singleton" });

        var second = await store.Runs.CreateRunAsync(NewRun() with { ConcurrencyKey = "singleton" });

        Assert.Equal(CreateRunOutcome.Conflict, second.Outcome);
        Assert.Equal(holder.Id, second.Run.Id);
        Assert.Single((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task CreateRunAsync_ConcurrencyKeyAfterHolderFinished_Succeeds()
    {
        var store = await NewStoreAsync();
        var holder = await CreateClaimedAsync(store, "node-a", NewRun() with { ConcurrencyKey = "singleton" });
        await FinishAsync(store, holder.Id, "node-a", RunStatus.Succeeded, T0.AddSeconds(1));

        var next = await store.Runs.CreateRunAsync(NewRun(now: T0.AddSeconds(2)) with { ConcurrencyKey = "singleton" });

        Assert.Equal(CreateRunOutcome.Created, next.Outcome);
        Assert.NotEqual(holder.Id, next.Run.Id);
    }

    [Fact]
    public async Task CreateRunAsync_ConcurrencyLimitThree_FourthIsRefused()
    {
        var store = await NewStoreAsync();
        var holders = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            holders.Add((await CreateAsync(store, NewRun() with { ConcurrencyKey = "k", ConcurrencyLimit = 3 })).Id);
        }

        var fourth = await store.Runs.CreateRunAsync(NewRun() with { ConcurrencyKey = "k", ConcurrencyLimit = 3 });

        Assert.Equal(CreateRunOutcome.Conflict, fourth.Outcome);
        Assert.Equal(holders[0], fourth.Run.Id);
        Assert.Equal(3, (await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs.Count);
    }

    [Fact]
    public async Task CreateRunAsync_ConcurrentStartsWithLimitOne_ExactlyOneCreated()
    {
        var store = await NewStoreAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            Task.Run(() => store.Runs.CreateRunAsync(NewRun() with { ConcurrencyKey = "singleton" }))));

        var created = Assert.Single(results, r => r.Outcome == CreateRunOutcome.Created);
        Assert.All(results.Where(r => r.Outcome != CreateRunOutcome.Created), r =>
        {
            Assert.Equal(CreateRunOutcome.Conflict, r.Outcome);
            Assert.Equal(created.Run.Id, r.Run.Id);
        });
    }

    [Fact]
    public async Task CreateRunAsync_ConcurrencyLimitZero_ThrowsAndStoresNothing()
    {
        var store = await NewStoreAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            store.Runs.CreateRunAsync(NewRun() with { ConcurrencyKey = "k", ConcurrencyLimit = 0 }));

        Assert.Empty((await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task CreateRunAsync_DuplicateId_ThrowsAndKeepsOriginal()
    {
        var store = await NewStoreAsync();
        var original = await CreateAsync(store, NewRun("first"));

        await Assert.ThrowsAnyAsync<Exception>(() =>
            store.Runs.CreateRunAsync(NewRun("second") with { Id = original.Id }));

        Assert.Equal("first", (await GetAsync(store, original.Id)).Workflow);
    }
}
