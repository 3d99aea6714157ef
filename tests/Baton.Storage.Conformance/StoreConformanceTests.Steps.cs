using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    private static AttemptStartedRequest Started(string runId, string key, int attempt, DateTimeOffset at, StepKind kind = StepKind.Step) => new()
    {
        RunId = runId, Owner = "node-a", StepKey = key, Kind = kind, Attempt = attempt, StartedAt = at,
    };

    private static AttemptEndedRequest Ended(string runId, string key, int attempt, DateTimeOffset startedAt, DateTimeOffset endedAt) => new()
    {
        RunId = runId, Owner = "node-a", StepKey = key, Kind = StepKind.Step, Attempt = attempt,
        StartedAt = startedAt, EndedAt = endedAt, Outcome = AttemptOutcome.Succeeded,
    };

    [Fact]
    public async Task RecordAttemptStartedAsync_FirstAttempt_CreatesRunningStepAndAttempt()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");

        Assert.True(await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "fetch", 1, T0.AddSeconds(1))));
        var step = Assert.Single(await store.Steps.GetStepsAsync(run.Id));
        var attempt = Assert.Single(await store.Steps.GetAttemptsAsync(run.Id));

        Assert.Equal(("fetch", StepKind.Step, StepStatus.Running, 1, T0.AddSeconds(1)),
            (step.Key, step.Kind, step.Status, step.Attempts, step.StartedAt));
        Assert.Null(step.CompletedAt);
        Assert.Equal(("fetch", 1, AttemptOutcome.Running, T0.AddSeconds(1)),
            (attempt.StepKey, attempt.Attempt, attempt.Outcome, attempt.StartedAt));
        Assert.Null(attempt.EndedAt);
    }

    [Fact]
    public async Task RecordAttemptEndedAsync_Succeeded_StoresResultAndOutcome()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "fetch", 1, T0.AddSeconds(1)));

        Assert.True(await store.Steps.RecordAttemptEndedAsync(Ended(run.Id, "fetch", 1, T0.AddSeconds(1), T0.AddSeconds(2)) with
        {
            StepStatus = StepStatus.Succeeded, Result = """{"rows":3}""",
        }));
        var step = Assert.Single(await store.Steps.GetStepsAsync(run.Id));
        var attempt = Assert.Single(await store.Steps.GetAttemptsAsync(run.Id));

        Assert.Equal(StepStatus.Succeeded, step.Status);
        Assert.Equal("""{"rows":3}""", step.Result);
        Assert.Equal(T0.AddSeconds(2), step.CompletedAt);
        Assert.Equal(T0.AddSeconds(1), step.StartedAt);
        Assert.Equal(AttemptOutcome.Succeeded, attempt.Outcome);
        Assert.Equal(T0.AddSeconds(2), attempt.EndedAt);
    }

    [Fact]
    public async Task RecordAttemptEndedAsync_FailedThenRetried_KeepsEveryAttemptInOrder()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "charge", 1, T0.AddSeconds(1)));
        await store.Steps.RecordAttemptEndedAsync(Ended(run.Id, "charge", 1, T0.AddSeconds(1), T0.AddSeconds(2)) with
        {
            Outcome = AttemptOutcome.TimedOut, ErrorType = "TimeoutRejectedException", ErrorMessage = "timed out after 2s",
        });
        var whileRetrying = Assert.Single(await store.Steps.GetStepsAsync(run.Id));
        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "charge", 2, T0.AddSeconds(5)));
        await store.Steps.RecordAttemptEndedAsync(Ended(run.Id, "charge", 2, T0.AddSeconds(5), T0.AddSeconds(6)) with
        {
            Outcome = AttemptOutcome.Failed, ErrorType = "HttpRequestException", ErrorMessage = "502",
            StepStatus = StepStatus.Failed,
        });

        var step = Assert.Single(await store.Steps.GetStepsAsync(run.Id));
        var attempts = await store.Steps.GetAttemptsAsync(run.Id);

        Assert.Equal(StepStatus.Running, whileRetrying.Status);
        Assert.Equal("timed out after 2s", whileRetrying.Error);
        Assert.Equal(StepStatus.Failed, step.Status);
        Assert.Equal(2, step.Attempts);
        Assert.Equal("502", step.Error);
        Assert.Equal("HttpRequestException", step.ErrorType);
        Assert.Null(step.Result);
        Assert.Equal(new[] { 1, 2 }, attempts.Select(a => a.Attempt));
        Assert.Equal(new[] { AttemptOutcome.TimedOut, AttemptOutcome.Failed }, attempts.Select(a => a.Outcome));
        Assert.Equal("TimeoutRejectedException", attempts[0].ErrorType);
        Assert.Equal("timed out after 2s", attempts[0].ErrorMessage);
    }

    /// <summary>
    /// A failed attempt to be retried keeps when the next attempt is due (a Retry-After longer than the policy's backoff
    /// included): before, no due time was stored, and a run resumed early recomputed it from the policy alone.
    /// </summary>
    [Fact]
    public async Task RecordAttemptEndedAsync_FailedWithRetryTime_RetryTimeReadBackAndNullOnOtherAttempts()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "charge", 1, T0.AddSeconds(1)));
        Assert.True(await store.Steps.RecordAttemptEndedAsync(Ended(run.Id, "charge", 1, T0.AddSeconds(1), T0.AddSeconds(2)) with
        {
            Outcome = AttemptOutcome.Failed, ErrorType = "Baton.Retries.RetryAfterException", ErrorMessage = "429", RetryAt = T0.AddMilliseconds(122_345),
        }));
        var whileWaiting = Assert.Single(await store.Steps.GetAttemptsAsync(run.Id));
        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "charge", 2, T0.AddSeconds(123)));
        Assert.True(await store.Steps.RecordAttemptEndedAsync(Ended(run.Id, "charge", 2, T0.AddSeconds(123), T0.AddSeconds(124)) with
        {
            StepStatus = StepStatus.Succeeded, Result = "1",
        }));

        var attempts = await store.Steps.GetAttemptsAsync(run.Id);

        Assert.Equal(T0.AddMilliseconds(122_345), whileWaiting.RetryAt);
        Assert.Equal(new DateTimeOffset?[] { T0.AddMilliseconds(122_345), null }, attempts.Select(a => a.RetryAt));
    }

    [Fact]
    public async Task RecordAttemptEndedAsync_WithoutStartRecord_CreatesStepAndAttempt()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");

        Assert.True(await store.Steps.RecordAttemptEndedAsync(Ended(run.Id, "fetch", 3, T0.AddSeconds(1), T0.AddSeconds(4)) with
        {
            StepStatus = StepStatus.Succeeded, Result = "42",
        }));
        var step = Assert.Single(await store.Steps.GetStepsAsync(run.Id));
        var attempt = Assert.Single(await store.Steps.GetAttemptsAsync(run.Id));

        Assert.Equal((StepStatus.Succeeded, "42", 3, T0.AddSeconds(1)), (step.Status, step.Result, step.Attempts, step.StartedAt));
        Assert.Equal((3, T0.AddSeconds(1), T0.AddSeconds(4)), (attempt.Attempt, attempt.StartedAt, attempt.EndedAt));
    }

    [Fact]
    public async Task RecordAttemptStartedAsync_NotOwner_ReturnsFalseAndWritesNothing()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");

        var applied = await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "fetch", 1, T0) with { Owner = "node-b" });

        Assert.False(applied);
        Assert.Empty(await store.Steps.GetStepsAsync(run.Id));
        Assert.Empty(await store.Steps.GetAttemptsAsync(run.Id));
    }

    [Fact]
    public async Task RecordAttemptStartedAsync_AfterStepFailed_PutsStepBackToRunning()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Steps.RecordAttemptEndedAsync(Ended(run.Id, "charge", 1, T0, T0.AddSeconds(1)) with
        {
            Outcome = AttemptOutcome.Failed, ErrorMessage = "502", StepStatus = StepStatus.Failed,
        });

        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "charge", 2, T0.AddMinutes(1)));
        var step = Assert.Single(await store.Steps.GetStepsAsync(run.Id));

        Assert.Equal(StepStatus.Running, step.Status);
        Assert.Equal(2, step.Attempts);
        Assert.Null(step.CompletedAt);
    }

    [Fact]
    public async Task GetStepsAsync_SeveralSteps_OrderedByStartThenKey()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "c", 1, T0.AddSeconds(3)));
        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "b", 1, T0.AddSeconds(1)));
        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "a", 1, T0.AddSeconds(1)));
        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "wait", 1, T0.AddSeconds(2), StepKind.Timer));

        var steps = await store.Steps.GetStepsAsync(run.Id);
        var attempts = await store.Steps.GetAttemptsAsync(run.Id);

        Assert.Equal(new[] { "a", "b", "wait", "c" }, steps.Select(s => s.Key));
        Assert.Equal(StepKind.Timer, steps[2].Kind);
        Assert.Equal(new[] { "a", "b", "c", "wait" }, attempts.Select(a => a.StepKey));
        Assert.Empty(await store.Steps.GetStepsAsync(NewId()));
    }

    [Fact]
    public async Task RecordAttemptEndedAsync_CompensationStep_IsStoredWithItsKind()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await store.Steps.RecordAttemptEndedAsync(Ended(run.Id, "reserve", 1, T0, T0.AddSeconds(1)) with
        {
            StepStatus = StepStatus.Succeeded, Result = "\"r-1\"",
        });
        await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "compensate:reserve", 1, T0.AddSeconds(5), StepKind.Compensation));

        Assert.True(await store.Steps.RecordAttemptEndedAsync(
            Ended(run.Id, "compensate:reserve", 1, T0.AddSeconds(5), T0.AddSeconds(6)) with
            {
                Kind = StepKind.Compensation, StepStatus = StepStatus.Succeeded,
            }));
        var steps = await store.Steps.GetStepsAsync(run.Id);

        Assert.Equal(new[] { "reserve", "compensate:reserve" }, steps.Select(s => s.Key));
        Assert.Equal(StepKind.Step, steps[0].Kind);
        Assert.Equal(StepKind.Compensation, steps[1].Kind);
        Assert.Equal(StepStatus.Succeeded, steps[1].Status);
        Assert.Equal(T0.AddSeconds(6), steps[1].CompletedAt);
    }
}
