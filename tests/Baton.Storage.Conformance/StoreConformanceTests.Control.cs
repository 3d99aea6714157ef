using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    [Fact]
    public async Task CancelRunAsync_UnknownRun_ReturnsNotFound()
    {
        var store = await NewStoreAsync();

        var result = await store.Runs.CancelRunAsync(new CancelRunRequest(NewId(), T0));

        Assert.Equal(CancelRunOutcome.NotFound, result.Outcome);
        Assert.Null(result.Run);
    }

    [Fact]
    public async Task CancelRunAsync_PendingRun_CancelsAtOnce()
    {
        var store = await NewStoreAsync();
        var run = await CreateAsync(store, NewRun());

        var result = await store.Runs.CancelRunAsync(new CancelRunRequest(run.Id, T0.AddSeconds(5)));
        var stored = await GetAsync(store, run.Id);

        Assert.Equal(CancelRunOutcome.Cancelled, result.Outcome);
        Assert.Equal(RunStatus.Cancelled, result.Run!.Status);
        Assert.Equal(RunStatus.Cancelled, stored.Status);
        Assert.Equal(T0.AddSeconds(5), stored.CompletedAt);
        Assert.Equal("cancelled by request", stored.Failure?.Message);
        Assert.Empty(await ClaimAsync(store, "node-a", T0.AddMinutes(1)));
    }

    [Fact]
    public async Task CancelRunAsync_RunningRun_RecordsRequest()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");

        var result = await store.Runs.CancelRunAsync(new CancelRunRequest(run.Id, T0.AddSeconds(5)));
        var stored = await GetAsync(store, run.Id);

        Assert.Equal(CancelRunOutcome.Requested, result.Outcome);
        Assert.True(result.Run!.CancelRequested);
        Assert.True(stored.CancelRequested);
        Assert.Equal(RunStatus.Running, stored.Status);
        Assert.Equal("node-a", stored.LeaseOwner);
        Assert.Null(stored.CompletedAt);
    }

    [Fact]
    public async Task CancelRunAsync_LeasedPendingRun_RecordsRequest()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(1), Status = RunStatus.Pending,
        }));

        var result = await store.Runs.CancelRunAsync(new CancelRunRequest(run.Id, T0.AddSeconds(2)));
        var stored = await GetAsync(store, run.Id);

        Assert.Equal(CancelRunOutcome.Requested, result.Outcome);
        Assert.Equal(RunStatus.Pending, stored.Status);
        Assert.True(stored.CancelRequested);
        Assert.Equal("node-a", stored.LeaseOwner);
    }

    [Fact]
    public async Task CancelRunAsync_CompensatingRun_RecordsRequest()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(1), Status = RunStatus.Compensating,
        });

        var result = await store.Runs.CancelRunAsync(new CancelRunRequest(run.Id, T0.AddSeconds(2)));

        Assert.Equal(CancelRunOutcome.Requested, result.Outcome);
        Assert.Equal(RunStatus.Compensating, (await GetAsync(store, run.Id)).Status);
    }

    [Fact]
    public async Task CancelRunAsync_SuspendedRun_RequestsAndMakesDue()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(1),
            Status = RunStatus.Suspended, RunAfter = T0.AddDays(1), ReleaseLease = true,
        });

        var result = await store.Runs.CancelRunAsync(new CancelRunRequest(run.Id, T0.AddMinutes(1)));
        var claimed = Assert.Single(await ClaimAsync(store, "node-b", T0.AddMinutes(1)));

        Assert.Equal(CancelRunOutcome.Requested, result.Outcome);
        Assert.Equal(T0.AddMinutes(1), result.Run!.RunAfter);
        Assert.True(claimed.CancelRequested);
        Assert.Equal(run.Id, claimed.Id);
    }

    [Fact]
    public async Task UpdateRunAsync_SuspendingARunWhoseCancelWasRequestedMeanwhile_MakesItDue()
    {
        // The cancel landed while the run ran and its worker had not seen it (a claim in flight): before, the run slept on
        // with the request stored until its own wake time (never, for an event wait without a timeout).
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        Assert.Equal(CancelRunOutcome.Requested, (await store.Runs.CancelRunAsync(new CancelRunRequest(run.Id, T0.AddSeconds(1)))).Outcome);

        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(2),
            Status = RunStatus.Suspended, RunAfter = T0.AddDays(1), ReleaseLease = true,
        }));
        var claimed = Assert.Single(await ClaimAsync(store, "node-b", T0.AddSeconds(2)));

        Assert.Equal(run.Id, claimed.Id);
        Assert.True(claimed.CancelRequested);
    }

    [Fact]
    public async Task CancelRunAsync_FinishedRun_ReturnsAlreadyFinished()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, run.Id, "node-a", RunStatus.Succeeded, T0.AddSeconds(1));

        var result = await store.Runs.CancelRunAsync(new CancelRunRequest(run.Id, T0.AddSeconds(2)));

        Assert.Equal(CancelRunOutcome.AlreadyFinished, result.Outcome);
        Assert.Equal(RunStatus.Succeeded, result.Run!.Status);
        Assert.False((await GetAsync(store, run.Id)).CancelRequested);
    }

    [Fact]
    public async Task RetryRunAsync_UnknownRun_ReturnsNotFound()
    {
        var store = await NewStoreAsync();

        var result = await store.Runs.RetryRunAsync(new RetryRunRequest(NewId(), T0, null));

        Assert.Equal(RetryRunOutcome.NotFound, result.Outcome);
        Assert.Null(result.Run);
    }

    [Fact]
    public async Task RetryRunAsync_FailedRun_BecomesPendingAndClaimable()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, run.Id, "node-a", RunStatus.Failed, T0.AddSeconds(1));

        var result = await store.Runs.RetryRunAsync(new RetryRunRequest(run.Id, T0.AddMinutes(1), T0.AddHours(2)));
        var stored = await GetAsync(store, run.Id);

        Assert.Equal(RetryRunOutcome.Retried, result.Outcome);
        Assert.Equal(RunStatus.Pending, stored.Status);
        Assert.Null(stored.Failure);
        Assert.Null(stored.CompletedAt);
        Assert.Null(stored.LeaseOwner);
        Assert.False(stored.CancelRequested);
        Assert.Equal(T0.AddMinutes(1), stored.RunAfter);
        Assert.Equal(T0.AddHours(2), stored.DeadlineAt);
        Assert.Equal(run.Id, Assert.Single(await ClaimAsync(store, "node-b", T0.AddMinutes(1))).Id);
    }

    [Fact]
    public async Task RetryRunAsync_CancelledRun_BecomesPendingWithoutCancelRequest()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Runs.CancelRunAsync(new CancelRunRequest(run.Id, T0.AddSeconds(1)));
        await FinishAsync(store, run.Id, "node-a", RunStatus.Cancelled, T0.AddSeconds(2));

        var result = await store.Runs.RetryRunAsync(new RetryRunRequest(run.Id, T0.AddMinutes(1), null));

        Assert.Equal(RetryRunOutcome.Retried, result.Outcome);
        Assert.Equal(RunStatus.Pending, result.Run!.Status);
        Assert.False(result.Run.CancelRequested);
        Assert.Null(result.Run.DeadlineAt);
    }

    [Fact]
    public async Task RetryRunAsync_CompensationFailedRun_BecomesCompensating()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, run.Id, "node-a", RunStatus.CompensationFailed, T0.AddSeconds(1));

        var result = await store.Runs.RetryRunAsync(new RetryRunRequest(run.Id, T0.AddMinutes(1), null));
        var claimed = Assert.Single(await ClaimAsync(store, "node-b", T0.AddMinutes(1)));

        Assert.Equal(RetryRunOutcome.Retried, result.Outcome);
        Assert.Equal(RunStatus.Compensating, result.Run!.Status);
        Assert.Equal(RunStatus.Compensating, claimed.Status);
    }

    [Fact]
    public async Task RetryRunAsync_CompensationFailedRun_KeepsItsFailure()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, run.Id, "node-a", RunStatus.CompensationFailed, T0.AddSeconds(1));

        var result = await store.Runs.RetryRunAsync(new RetryRunRequest(run.Id, T0.AddMinutes(1), null));

        Assert.Equal(("boom", "s1"), (result.Run!.Failure!.Message, result.Run.Failure.Step));
        Assert.Equal("boom", (await GetAsync(store, run.Id)).Failure!.Message);
    }

    [Fact]
    public async Task RetryRunAsync_FailedRun_ReopensTheEventWaitItsFailureNamesAndRestartsWaitsInProgress()
    {
        // "a" timed out and the run went on to step "s" (started after it); "c" timed out too, but the run's failure names "b",
        // which timed out last and ended the run; "d" was still waiting (a WhenAll beside "b").
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Steps.RecordAttemptEndedAsync(TimedOut(run.Id, "event:a", T0, T0.AddSeconds(10)));
        await store.Steps.RecordAttemptEndedAsync(new AttemptEndedRequest
        {
            RunId = run.Id, Owner = "node-a", StepKey = "s", Kind = StepKind.Step, Attempt = 1, StartedAt = T0.AddSeconds(10), EndedAt = T0.AddSeconds(11),
            Outcome = AttemptOutcome.Succeeded, StepStatus = StepStatus.Succeeded, Result = "1",
        });
        await store.Steps.RecordAttemptEndedAsync(TimedOut(run.Id, "event:c", T0.AddSeconds(11), T0.AddSeconds(20)));
        await store.Steps.RecordAttemptEndedAsync(TimedOut(run.Id, "event:b", T0.AddSeconds(11), T0.AddSeconds(20)));
        Assert.True(await store.Steps.RecordAttemptStartedAsync(new AttemptStartedRequest
        {
            RunId = run.Id, Owner = "node-a", StepKey = "event:d", Kind = StepKind.Event, Attempt = 1, StartedAt = T0.AddSeconds(11),
        }));
        await FinishAsync(store, run.Id, "node-a", RunStatus.Failed, T0.AddSeconds(20), failedStep: "event:b");

        await store.Runs.RetryRunAsync(new RetryRunRequest(run.Id, T0.AddMinutes(1), null));
        var steps = (await store.Steps.GetStepsAsync(run.Id)).ToDictionary(s => s.Key);

        Assert.Equal(StepStatus.Failed, steps["event:a"].Status);
        Assert.Equal(StepStatus.Failed, steps["event:c"].Status);
        Assert.Equal((StepStatus.Running, T0.AddSeconds(20), 1), (steps["event:b"].Status, steps["event:b"].CompletedAt, steps["event:b"].Attempts));
        Assert.Equal((StepStatus.Running, T0.AddMinutes(1), 1), (steps["event:d"].Status, steps["event:d"].CompletedAt, steps["event:d"].Attempts));
        Assert.Equal(StepStatus.Succeeded, steps["s"].Status);
    }

    [Fact]
    public async Task RetryRunAsync_FailedRun_ReopensTheStepItsFailureNamesWithoutItsErrorAndLeavesTheOthers()
    {
        // Without a retry a failed step is thrown again where a replay reaches it; a retry runs the one its failure names again,
        // with no backoff owed. Others stay failed: the workflow saw them and may have gone on from them.
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        foreach (var (key, kind) in new[] { ("call", StepKind.Step), ("items/7", StepKind.Step), ("compensate:x", StepKind.Compensation) })
        {
            await store.Steps.RecordAttemptEndedAsync(new AttemptEndedRequest
            {
                RunId = run.Id, Owner = "node-a", StepKey = key, Kind = kind, Attempt = 3, StartedAt = T0, EndedAt = T0.AddSeconds(5),
                Outcome = AttemptOutcome.Failed, StepStatus = StepStatus.Failed, ErrorType = "System.IO.IOException", ErrorMessage = "refused",
            });
        }

        await FinishAsync(store, run.Id, "node-a", RunStatus.Failed, T0.AddSeconds(5), failedStep: "call");
        await store.Runs.RetryRunAsync(new RetryRunRequest(run.Id, T0.AddMinutes(1), null));
        var steps = (await store.Steps.GetStepsAsync(run.Id)).ToDictionary(s => s.Key);

        Assert.Equal((StepStatus.Running, null, null, 3, T0.AddSeconds(5)), (steps["call"].Status, steps["call"].Error, steps["call"].ErrorType, steps["call"].Attempts, steps["call"].CompletedAt));
        Assert.Equal((StepStatus.Failed, "refused"), (steps["items/7"].Status, steps["items/7"].Error));
        Assert.Equal((StepStatus.Failed, "refused"), (steps["compensate:x"].Status, steps["compensate:x"].Error));
    }

    [Fact]
    public async Task RetryRunAsync_FailureNamesAWaitAStepBeganAfter_ReopensItAllTheSame()
    {
        // A parallel branch may start steps after the timeout while the workflow still waits in WhenAll: only the failure the
        // run ended with decides. Before (a review): "no step began after it" kept such a timeout failed, and every retry of the
        // run failed at once.
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Steps.RecordAttemptEndedAsync(TimedOut(run.Id, "event:b", T0, T0.AddSeconds(10)));
        await store.Steps.RecordAttemptEndedAsync(new AttemptEndedRequest
        {
            RunId = run.Id, Owner = "node-a", StepKey = "prepare-2", Kind = StepKind.Step, Attempt = 1, StartedAt = T0.AddSeconds(10), EndedAt = T0.AddSeconds(11),
            Outcome = AttemptOutcome.Succeeded, StepStatus = StepStatus.Succeeded, Result = "1",
        });
        await FinishAsync(store, run.Id, "node-a", RunStatus.Failed, T0.AddSeconds(11), failedStep: "event:b");

        await store.Runs.RetryRunAsync(new RetryRunRequest(run.Id, T0.AddMinutes(1), null));

        var wait = Assert.Single(await store.Steps.GetStepsAsync(run.Id), s => s.Key == "event:b");
        Assert.Equal((StepStatus.Running, T0.AddSeconds(10), null), (wait.Status, wait.CompletedAt, wait.Error));
    }

    [Fact]
    public async Task RetryRunAsync_ActiveSucceededOrCompensatedRun_ReturnsNotRetryable()
    {
        var store = await NewStoreAsync();
        var pending = await CreateAsync(store, NewRun() with { RunAfter = T0.AddDays(1) });
        var running = await CreateClaimedAsync(store, "node-a");
        var succeeded = await CreateClaimedAsync(store, "node-a");
        var compensated = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, succeeded.Id, "node-a", RunStatus.Succeeded, T0.AddSeconds(1));
        await FinishAsync(store, compensated.Id, "node-a", RunStatus.Compensated, T0.AddSeconds(1));

        foreach (var (run, status) in new[]
                 {
                     (pending, RunStatus.Pending), (running, RunStatus.Running),
                     (succeeded, RunStatus.Succeeded), (compensated, RunStatus.Compensated),
                 })
        {
            var result = await store.Runs.RetryRunAsync(new RetryRunRequest(run.Id, T0.AddMinutes(1), null));

            Assert.Equal(RetryRunOutcome.NotRetryable, result.Outcome);
            Assert.Equal(status, (await GetAsync(store, run.Id)).Status);
        }
    }

    [Fact]
    public async Task RetryRunAsync_KeyHeldByAnotherRun_ReturnsConflict()
    {
        var store = await NewStoreAsync();
        var failed = await CreateClaimedAsync(store, "node-a", NewRun() with { ConcurrencyKey = "singleton" });
        await FinishAsync(store, failed.Id, "node-a", RunStatus.Failed, T0.AddSeconds(1));
        var holder = await CreateAsync(store, NewRun(now: T0.AddSeconds(2)) with { ConcurrencyKey = "singleton" });

        var result = await store.Runs.RetryRunAsync(new RetryRunRequest(failed.Id, T0.AddMinutes(1), null));

        Assert.Equal(RetryRunOutcome.Conflict, result.Outcome);
        Assert.Equal(holder.Id, result.Run!.Id);
        Assert.Equal(RunStatus.Failed, (await GetAsync(store, failed.Id)).Status);
    }

    [Fact]
    public async Task RetryRunAsync_WithOtherRuns_RetriesThemInTheSameWrite_SkippingOnesThatCannotBe()
    {
        var store = await NewStoreAsync();
        var parent = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, parent.Id, "node-a", RunStatus.Failed, T0.AddSeconds(1));
        var cancelled = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, cancelled.Id, "node-a", RunStatus.Cancelled, T0.AddSeconds(1));
        var succeeded = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, succeeded.Id, "node-a", RunStatus.Succeeded, T0.AddSeconds(1));

        var result = await store.Runs.RetryRunAsync(new RetryRunRequest(parent.Id, T0.AddMinutes(1), null)
        {
            With = [new RetryRunRequest(cancelled.Id, T0.AddMinutes(1), T0.AddHours(1)), new RetryRunRequest(succeeded.Id, T0.AddMinutes(1), null)],
        });

        Assert.Equal((RetryRunOutcome.Retried, parent.Id), (result.Outcome, result.Run!.Id));
        Assert.Equal(RunStatus.Pending, (await GetAsync(store, parent.Id)).Status);
        var other = await GetAsync(store, cancelled.Id);
        Assert.Equal((RunStatus.Pending, T0.AddHours(1)), (other.Status, other.DeadlineAt));
        // One that cannot be retried is left as it is, and does not stop the others.
        Assert.Equal(RunStatus.Succeeded, (await GetAsync(store, succeeded.Id)).Status);
    }

    [Fact]
    public async Task RetryRunAsync_RefusedWithOtherRuns_RetriesNoneOfThem()
    {
        // A refused retry writes nothing: the runs to retry with it stay as they were.
        var store = await NewStoreAsync();
        var failed = await CreateClaimedAsync(store, "node-a", NewRun() with { ConcurrencyKey = "singleton" });
        await FinishAsync(store, failed.Id, "node-a", RunStatus.Failed, T0.AddSeconds(1));
        var child = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, child.Id, "node-a", RunStatus.Cancelled, T0.AddSeconds(1));
        await CreateAsync(store, NewRun(now: T0.AddSeconds(2)) with { ConcurrencyKey = "singleton" });

        var result = await store.Runs.RetryRunAsync(new RetryRunRequest(failed.Id, T0.AddMinutes(1), null)
        {
            With = [new RetryRunRequest(child.Id, T0.AddMinutes(1), null)],
        });

        Assert.Equal(RetryRunOutcome.Conflict, result.Outcome);
        Assert.Equal(RunStatus.Failed, (await GetAsync(store, failed.Id)).Status);
        Assert.Equal(RunStatus.Cancelled, (await GetAsync(store, child.Id)).Status);
    }

    [Fact]
    public async Task RetryRunAsync_AnotherRunsKeyHeld_RefusedAsAWholeNamingTheHolder()
    {
        // A child whose key another run holds cannot be retried; its parent's replay would find it ended again, so the parent
        // is not retried either.
        var store = await NewStoreAsync();
        var parent = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, parent.Id, "node-a", RunStatus.Failed, T0.AddSeconds(1));
        var child = await CreateClaimedAsync(store, "node-a", NewRun() with { ConcurrencyKey = "child-key" });
        await FinishAsync(store, child.Id, "node-a", RunStatus.Failed, T0.AddSeconds(1));
        var holder = await CreateAsync(store, NewRun(now: T0.AddSeconds(2)) with { ConcurrencyKey = "child-key" });

        var result = await store.Runs.RetryRunAsync(new RetryRunRequest(parent.Id, T0.AddMinutes(1), null)
        {
            With = [new RetryRunRequest(child.Id, T0.AddMinutes(1), null)],
        });

        Assert.Equal((RetryRunOutcome.Conflict, holder.Id), (result.Outcome, result.Run!.Id));
        Assert.Equal(RunStatus.Failed, (await GetAsync(store, parent.Id)).Status);
        Assert.Equal(RunStatus.Failed, (await GetAsync(store, child.Id)).Status);
    }

    private static AttemptEndedRequest TimedOut(string runId, string key, DateTimeOffset started, DateTimeOffset ended) => new()
    {
        RunId = runId, Owner = "node-a", StepKey = key, Kind = StepKind.Event, Attempt = 1, StartedAt = started, EndedAt = ended,
        Outcome = AttemptOutcome.TimedOut, StepStatus = StepStatus.Failed, ErrorType = "Baton.Events.EventTimeoutException", ErrorMessage = "timed out",
    };
}
