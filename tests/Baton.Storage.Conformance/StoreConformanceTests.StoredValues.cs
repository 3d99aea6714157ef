using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    /// <summary>The numbers in databases that exist today; changing one needs a migration, not an edit here.</summary>
    public static TheoryData<RunStatus, long> StoredRunStatuses => new()
    {
        { RunStatus.Pending, 0 },
        { RunStatus.Running, 1 },
        { RunStatus.Suspended, 2 },
        { RunStatus.Compensating, 3 },
        { RunStatus.Succeeded, 10 },
        { RunStatus.Failed, 11 },
        { RunStatus.Cancelled, 12 },
        { RunStatus.Compensated, 13 },
        { RunStatus.CompensationFailed, 14 },
    };

    [Theory]
    [MemberData(nameof(StoredRunStatuses))]
    public async Task UpdateRunAsync_EachStatus_StoresItsFixedNumber(RunStatus status, long stored)
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");

        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(1), Status = status }));

        Assert.Equal(stored, await ReadStoredIntegerAsync(store, "runs", "status", "id", run.Id));
        Assert.Equal(status, (await GetAsync(store, run.Id)).Status);
    }

    [Fact]
    public void StoredRunStatuses_CoverEveryRunStatus()
    {
        Assert.Equal(Enum.GetValues<RunStatus>().Order(), StoredRunStatuses.Select(row => (RunStatus)row[0]).Order());
    }

    [Fact]
    public async Task CreateRunAsync_NewRun_StoresPendingAsZero()
    {
        var store = await NewStoreAsync();
        var run = await CreateAsync(store, NewRun());

        Assert.Equal(0, await ReadStoredIntegerAsync(store, "runs", "status", "id", run.Id));
    }

    [Fact]
    public async Task RecordAttemptEndedAsync_StepKindStatusAndOutcome_StoreTheirFixedNumbers()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");

        Assert.True(await store.Steps.RecordAttemptEndedAsync(new AttemptEndedRequest
        {
            RunId = run.Id, Owner = "node-a", StepKey = StepKeys.Compensation("charge"), Kind = StepKind.Compensation, Attempt = 1,
            StartedAt = T0, EndedAt = T0.AddSeconds(1), Outcome = AttemptOutcome.TimedOut, StepStatus = StepStatus.DeadLettered,
        }));

        Assert.Equal(2, await ReadStoredIntegerAsync(store, "steps", "kind", "run_id", run.Id));
        Assert.Equal(3, await ReadStoredIntegerAsync(store, "steps", "status", "run_id", run.Id));
        Assert.Equal(3, await ReadStoredIntegerAsync(store, "step_attempts", "outcome", "run_id", run.Id));
    }
}
