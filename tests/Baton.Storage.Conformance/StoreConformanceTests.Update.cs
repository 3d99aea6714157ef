using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    [Fact]
    public async Task UpdateRunAsync_LiveState_RoundTrips()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        var errors = new[]
        {
            new RunError(T0.AddSeconds(2), "row 7: bad price", "import"),
            new RunError(T0.AddSeconds(3), "row 9: missing sku"),
        };

        var applied = await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id,
            Owner = "node-a",
            Now = T0.AddSeconds(4),
            Phase = "importing",
            Progress = new Dictionary<string, long> { ["processed"] = 120, ["failed"] = 2 },
            Errors = errors,
            Output = """{"partial":true}""",
        });
        var stored = await GetAsync(store, run.Id);

        Assert.True(applied);
        Assert.Equal(RunStatus.Running, stored.Status);
        Assert.Equal("importing", stored.Phase);
        Assert.Equal(120, stored.Progress["processed"]);
        Assert.Equal(2, stored.Progress["failed"]);
        Assert.Equal(2, stored.Progress.Count);
        Assert.Equal(errors, stored.Errors);
        Assert.Equal("""{"partial":true}""", stored.Output);
        Assert.Equal(T0.AddSeconds(4), stored.UpdatedAt);
        Assert.Equal("node-a", stored.LeaseOwner);
        Assert.Null(stored.CompletedAt);
    }

    [Fact]
    public async Task UpdateRunAsync_NullFields_KeepCurrentValues()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(1), Phase = "one",
            Progress = new Dictionary<string, long> { ["n"] = 1 }, Output = "1",
        });

        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(2) }));
        var stored = await GetAsync(store, run.Id);

        Assert.Equal("one", stored.Phase);
        Assert.Equal(1, stored.Progress["n"]);
        Assert.Equal("1", stored.Output);
        Assert.Equal(RunStatus.Running, stored.Status);
        Assert.Equal(T0.AddSeconds(2), stored.UpdatedAt);
    }

    [Fact]
    public async Task UpdateRunAsync_EmptyProgress_ReplacesCounters()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(1), Progress = new Dictionary<string, long> { ["n"] = 1 },
        });

        await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(2), Progress = new Dictionary<string, long>(), Errors = [],
        });

        Assert.Empty((await GetAsync(store, run.Id)).Progress);
    }

    [Fact]
    public async Task UpdateRunAsync_TerminalStatus_SetsCompletedAtFailureAndReleases()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        var failure = new RunFailure
        {
            Message = "upstream 500", ErrorType = "HttpRequestException", Step = "charge",
            SagaState = "compensation_failed", CompensationStep = "compensate:reserve", CompensationError = "timeout",
        };

        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(9),
            Status = RunStatus.CompensationFailed, Failure = failure, ReleaseLease = true,
        }));
        var stored = await GetAsync(store, run.Id);

        Assert.Equal(RunStatus.CompensationFailed, stored.Status);
        Assert.Equal(T0.AddSeconds(9), stored.CompletedAt);
        Assert.Equal(failure, stored.Failure);
        Assert.Null(stored.LeaseOwner);
        Assert.Null(stored.LeaseExpiresAt);
    }

    [Fact]
    public async Task UpdateRunAsync_FailureByChildRuns_KeepsTheChildRunsInOrder()
    {
        // What a retry of the run reads to retry the children it ended with (a fan-out that failed together).
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        var failure = new RunFailure { Message = "child run b ended failed: x", ErrorType = "Baton.Children.ChildRunFailedException", ChildRuns = ["b", "a", "c"] };

        await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(9), Status = RunStatus.Failed, Failure = failure, ReleaseLease = true,
        });
        var stored = (await GetAsync(store, run.Id)).Failure!;

        Assert.Equal(["b", "a", "c"], stored.ChildRuns);
        Assert.Equal((failure.Message, failure.ErrorType), (stored.Message, stored.ErrorType));
    }

    [Fact]
    public async Task UpdateRunAsync_NotOwner_ReturnsFalse()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");

        var applied = await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-b", Now = T0.AddSeconds(1), Phase = "hijacked",
        });

        Assert.False(applied);
        Assert.Null((await GetAsync(store, run.Id)).Phase);
    }
}
