using System.Text.Json;
using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

/// <summary>
/// The behaviour every <see cref="IBatonStore"/> must have. A store's test project derives from
/// this class and supplies <see cref="CreateStoreAsync"/>; every fact then runs against that
/// store. Times are explicit values passed in, never the clock.
/// </summary>
public abstract partial class StoreConformanceTests : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static long _idSequence;
    private readonly List<IBatonStore> _stores = [];

    /// <summary>A fresh, empty, initialized store. Called once or more per test; each is disposed after the test.</summary>
    protected abstract Task<IBatonStore> CreateStoreAsync();

    /// <summary>
    /// The integer the store wrote in <paramref name="column"/> of the <paramref name="table"/> row whose
    /// <paramref name="keyColumn"/> is <paramref name="key"/>, read with the store's own SQL: how the suite pins
    /// the numbers stored for the engine's enums, which the data of every existing database depends on.
    /// </summary>
    protected abstract Task<long> ReadStoredIntegerAsync(IBatonStore store, string table, string column, string keyColumn, string key);

    /// <summary>Runs after every store made by the test has been disposed (delete files, drop schemas).</summary>
    protected virtual Task CleanupAsync() => Task.CompletedTask;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            switch (store)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }

        await CleanupAsync();
    }

    protected async Task<IBatonStore> NewStoreAsync()
    {
        var store = await CreateStoreAsync();
        _stores.Add(store);
        return store;
    }

    /// <summary>A Guid v7 id; ids made later in a test sort after earlier ones.</summary>
    protected static string NewId() =>
        Guid.CreateVersion7(T0.AddMilliseconds(Interlocked.Increment(ref _idSequence))).ToString();

    protected static CreateRunRequest NewRun(string workflow = "wf", DateTimeOffset? now = null) => new()
    {
        Id = NewId(),
        Workflow = workflow,
        Now = now ?? T0,
    };

    protected static async Task<RunRecord> CreateAsync(IBatonStore store, CreateRunRequest request)
    {
        var result = await store.Runs.CreateRunAsync(request);
        Assert.Equal(CreateRunOutcome.Created, result.Outcome);
        return result.Run;
    }

    protected static Task<IReadOnlyList<RunRecord>> ClaimAsync(IBatonStore store, string owner, DateTimeOffset now, int maxRuns = 100) =>
        store.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = owner,
            MaxRuns = maxRuns,
            Now = now,
            LeaseExpiresAt = now.AddSeconds(30),
        });

    /// <summary>Creates a run and leases it to <paramref name="owner"/> at <see cref="T0"/> (lease until T0 + 30 s).</summary>
    protected static async Task<RunRecord> CreateClaimedAsync(IBatonStore store, string owner, CreateRunRequest? request = null)
    {
        var run = await CreateAsync(store, request ?? NewRun());
        var claimed = await ClaimAsync(store, owner, T0);
        return Assert.Single(claimed, r => r.Id == run.Id);
    }

    /// <summary>Moves a run leased by <paramref name="owner"/> to <paramref name="status"/> and releases the lease.</summary>
    protected static async Task FinishAsync(IBatonStore store, string runId, string owner, RunStatus status, DateTimeOffset now, string failedStep = "s1")
    {
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = runId,
            Owner = owner,
            Now = now,
            Status = status,
            Failure = status == RunStatus.Succeeded ? null : new RunFailure { Message = "boom", Step = failedStep },
            ReleaseLease = true,
        }));
    }

    protected static async Task<RunRecord> GetAsync(IBatonStore store, string runId) =>
        Assert.IsType<RunRecord>(await store.Runs.GetRunAsync(runId));

    /// <summary>Field-by-field equality, collections included (record equality compares them by reference).</summary>
    protected static void AssertSameRun(RunRecord expected, RunRecord actual) =>
        Assert.Equal(JsonSerializer.Serialize(expected), JsonSerializer.Serialize(actual));

    [Fact]
    public async Task PingAsync_InitializedStore_Succeeds()
    {
        var store = await NewStoreAsync();

        var error = await Record.ExceptionAsync(() => store.PingAsync());

        Assert.Null(error);
    }

    [Fact]
    public async Task InitializeAsync_CalledAgain_KeepsData()
    {
        var store = await NewStoreAsync();
        var run = await CreateAsync(store, NewRun());

        await store.InitializeAsync();
        await store.InitializeAsync();

        Assert.Equal(run.Id, (await GetAsync(store, run.Id)).Id);
    }
}
