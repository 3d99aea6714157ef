using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    private static async Task<IReadOnlyList<CreateRunResult>> CreateManyAsync(IBatonStore store, params CreateRunRequest[] runs) =>
        await store.Runs.CreateRunsAsync(new CreateRunsRequest(runs));

    private static async Task<int> CountAllAsync(IBatonStore store) =>
        (await store.Runs.ListRunsAsync(new ListRunsRequest { Limit = RunLimits.MaxPageSize })).Runs.Count;

    [Fact]
    public async Task CreateRunsAsync_AllNew_StoresEveryRunInOrder()
    {
        var store = await NewStoreAsync();
        var requests = Enumerable.Range(0, 5).Select(i => NewRun() with { Input = $$"""{"n":{{i}}}""", IdempotencyKey = $"m{i}" }).ToArray();

        var results = await CreateManyAsync(store, requests);

        Assert.Equal(5, results.Count);
        for (var i = 0; i < requests.Length; i++)
        {
            Assert.Equal(CreateRunOutcome.Created, results[i].Outcome);
            Assert.Equal(requests[i].Id, results[i].Run.Id);
            var stored = await GetAsync(store, requests[i].Id);
            Assert.Equal(RunStatus.Pending, stored.Status);
            Assert.Equal($$"""{"n":{{i}}}""", stored.Input);
            Assert.Equal($"m{i}", stored.IdempotencyKey);
        }
    }

    [Fact]
    public async Task CreateRunsAsync_SomeExistingByIdempotencyKey_ReturnsThoseAndCreatesTheRest()
    {
        var store = await NewStoreAsync();
        var earlier = await CreateAsync(store, NewRun() with { IdempotencyKey = "m1" });

        var results = await CreateManyAsync(
            store,
            NewRun() with { IdempotencyKey = "m1" },
            NewRun() with { IdempotencyKey = "m2" },
            NewRun() with { IdempotencyKey = "m2" });

        Assert.Equal(CreateRunOutcome.Existing, results[0].Outcome);
        Assert.Equal(earlier.Id, results[0].Run.Id);
        Assert.Equal(CreateRunOutcome.Created, results[1].Outcome);
        Assert.Equal(CreateRunOutcome.Existing, results[2].Outcome);
        Assert.Equal(results[1].Run.Id, results[2].Run.Id);
        Assert.Equal(2, await CountAllAsync(store));
    }

    [Fact]
    public async Task CreateRunsAsync_ConcurrencyKeyFilledInsideBatch_LaterOneConflicts()
    {
        var store = await NewStoreAsync();

        var results = await CreateManyAsync(
            store,
            NewRun() with { ConcurrencyKey = "tenant", ConcurrencyLimit = 2 },
            NewRun() with { ConcurrencyKey = "tenant", ConcurrencyLimit = 2 },
            NewRun() with { ConcurrencyKey = "tenant", ConcurrencyLimit = 2 },
            NewRun() with { ConcurrencyKey = "other" });

        Assert.Equal(
            [CreateRunOutcome.Created, CreateRunOutcome.Created, CreateRunOutcome.Conflict, CreateRunOutcome.Created],
            results.Select(r => r.Outcome));
        Assert.Equal(results[0].Run.Id, results[2].Run.Id);
        Assert.Equal(3, await CountAllAsync(store));
    }

    [Fact]
    public async Task CreateRunsAsync_ConcurrencyKeyHeldByActiveRun_Conflicts()
    {
        var store = await NewStoreAsync();
        var active = await CreateClaimedAsync(store, "node-a", NewRun() with { ConcurrencyKey = "singleton" });

        var results = await CreateManyAsync(store, NewRun() with { ConcurrencyKey = "singleton" }, NewRun());

        Assert.Equal(CreateRunOutcome.Conflict, results[0].Outcome);
        Assert.Equal(active.Id, results[0].Run.Id);
        Assert.Equal(CreateRunOutcome.Created, results[1].Outcome);
        Assert.Equal(2, await CountAllAsync(store));
    }

    [Fact]
    public async Task CreateRunsAsync_EmptyBatch_ReturnsNoResults()
    {
        var store = await NewStoreAsync();

        var results = await CreateManyAsync(store);

        Assert.Empty(results);
        Assert.Equal(0, await CountAllAsync(store));
    }

    [Fact]
    public async Task CreateRunsAsync_OneBadRequest_ThrowsAndStoresNothing()
    {
        var store = await NewStoreAsync();

        var error = await Record.ExceptionAsync(() => CreateManyAsync(store, NewRun(), NewRun() with { ConcurrencyLimit = 0 }));

        Assert.IsType<ArgumentOutOfRangeException>(error);
        Assert.Equal(0, await CountAllAsync(store));
    }

    [Fact]
    public async Task CreateRunsAsync_SameIdTwice_ThrowsAndStoresNothing()
    {
        var store = await NewStoreAsync();
        var run = NewRun();

        var error = await Record.ExceptionAsync(() => CreateManyAsync(store, run, run with { IdempotencyKey = "other" }));

        Assert.IsType<ArgumentException>(error);
        Assert.Equal(0, await CountAllAsync(store));
    }

    [Fact]
    public async Task CreateRunsAsync_IdAlreadyStored_ThrowsAndStoresNoneOfTheBatch()
    {
        var store = await NewStoreAsync();
        var stored = await CreateAsync(store, NewRun());

        var error = await Record.ExceptionAsync(() => CreateManyAsync(store, NewRun(), NewRun() with { Id = stored.Id }));

        Assert.NotNull(error);
        Assert.Equal(1, await CountAllAsync(store));
    }

    [Fact]
    public async Task CreateRunsAsync_WithLease_CreatesRunsClaimedByOwner()
    {
        var store = await NewStoreAsync();

        var results = await CreateManyAsync(
            store,
            NewRun() with { LeaseOwner = "node-a", LeaseExpiresAt = T0.AddSeconds(30) },
            NewRun());

        var leased = await GetAsync(store, results[0].Run.Id);
        Assert.Equal(RunStatus.Running, leased.Status);
        Assert.Equal("node-a", leased.LeaseOwner);
        Assert.Equal(1, leased.Executions);
        Assert.Equal(RunStatus.Pending, (await GetAsync(store, results[1].Run.Id)).Status);
    }

    [Fact]
    public async Task CreateRunsAsync_ConcurrentBatchesSameKeys_CreateEachRunOnce()
    {
        var store = await NewStoreAsync();

        var batches = await Task.WhenAll(Enumerable.Range(0, 8).Select(b => Task.Run(() =>
            CreateManyAsync(store, Enumerable.Range(0, 10).Select(i => NewRun() with { IdempotencyKey = $"m{(i + b) % 10}" }).ToArray()))));

        var results = batches.SelectMany(r => r).ToList();
        Assert.Equal(10, results.Count(r => r.Outcome == CreateRunOutcome.Created));
        Assert.All(results, r => Assert.NotEqual(CreateRunOutcome.Conflict, r.Outcome));
        Assert.Equal(10, results.Select(r => r.Run.Id).Distinct().Count());
        Assert.Equal(10, await CountAllAsync(store));
    }

    [Fact]
    public async Task CreateRunsAsync_ConcurrentBatchesKeysInOppositeOrder_NeverExceedLimit()
    {
        var store = await NewStoreAsync();

        var batches = await Task.WhenAll(Enumerable.Range(0, 8).Select(b => Task.Run(() =>
        {
            var keys = b % 2 == 0 ? new[] { "a", "b", "c" } : ["c", "b", "a"];
            return CreateManyAsync(store, keys.Select(k => NewRun() with { ConcurrencyKey = k, ConcurrencyLimit = 2 }).ToArray());
        })));

        var created = batches.SelectMany(r => r).Where(r => r.Outcome == CreateRunOutcome.Created).ToList();
        Assert.Equal(6, created.Count);
        Assert.All(created.GroupBy(r => r.Run.ConcurrencyKey), g => Assert.Equal(2, g.Count()));
        Assert.Equal(6, await CountAllAsync(store));
    }
}
