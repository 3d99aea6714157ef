using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

/// <summary>A run's update that carries a step's end (<see cref="UpdateRunRequest.EndedAttempt"/>): one transaction, one lease check.</summary>
public abstract partial class StoreConformanceTests
{
    private static UpdateRunRequest FinishWithStep(string runId, string owner, DateTimeOffset now, AttemptEndedRequest ended) => new()
    {
        RunId = runId, Owner = owner, Now = now, Status = RunStatus.Succeeded, Output = "7", ReleaseLease = true, EndedAttempt = ended,
    };

    [Fact]
    public async Task UpdateRunAsync_WithEndedAttempt_StoresRunStepAndAttemptTogether()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        var ended = Ended(run.Id, "forward", 1, T0.AddSeconds(1), T0.AddSeconds(2)) with { StepStatus = StepStatus.Succeeded, Result = "7" };

        Assert.True(await store.Runs.UpdateRunAsync(FinishWithStep(run.Id, "node-a", T0.AddSeconds(3), ended)));

        var stored = await GetAsync(store, run.Id);
        Assert.Equal((RunStatus.Succeeded, "7", T0.AddSeconds(3)), (stored.Status, stored.Output, stored.CompletedAt));
        Assert.Null(stored.LeaseOwner);
        var step = Assert.Single(await store.Steps.GetStepsAsync(run.Id));
        Assert.Equal(("forward", StepStatus.Succeeded, "7", 1, T0.AddSeconds(1), T0.AddSeconds(2)),
            (step.Key, step.Status, step.Result, step.Attempts, step.StartedAt, step.CompletedAt));
        var attempt = Assert.Single(await store.Steps.GetAttemptsAsync(run.Id));
        Assert.Equal(("forward", 1, AttemptOutcome.Succeeded, T0.AddSeconds(1), T0.AddSeconds(2)),
            (attempt.StepKey, attempt.Attempt, attempt.Outcome, attempt.StartedAt, attempt.EndedAt));
    }

    [Fact]
    public async Task UpdateRunAsync_WithEndedAttemptAfterItsStartWasStored_CompletesTheStartedRows()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        Assert.True(await store.Steps.RecordAttemptStartedAsync(Started(run.Id, "forward", 1, T0.AddSeconds(1))));
        var ended = Ended(run.Id, "forward", 1, T0.AddSeconds(1), T0.AddSeconds(2)) with { StepStatus = StepStatus.Succeeded, Result = "7" };

        Assert.True(await store.Runs.UpdateRunAsync(FinishWithStep(run.Id, "node-a", T0.AddSeconds(3), ended)));

        var step = Assert.Single(await store.Steps.GetStepsAsync(run.Id));
        var attempt = Assert.Single(await store.Steps.GetAttemptsAsync(run.Id));
        Assert.Equal((StepStatus.Succeeded, "7", T0.AddSeconds(2)), (step.Status, step.Result, step.CompletedAt));
        Assert.Equal((AttemptOutcome.Succeeded, T0.AddSeconds(2)), (attempt.Outcome, attempt.EndedAt));
    }

    [Fact]
    public async Task UpdateRunAsync_WithEndedAttemptAfterTakeover_ReturnsFalseAndWritesNoRow()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await ClaimAsync(store, "node-b", T0.AddSeconds(31));
        var before = await GetAsync(store, run.Id);
        var ended = Ended(run.Id, "forward", 1, T0.AddSeconds(1), T0.AddSeconds(2)) with { StepStatus = StepStatus.Succeeded, Result = "7" };

        var applied = await store.Runs.UpdateRunAsync(FinishWithStep(run.Id, "node-a", T0.AddSeconds(32), ended));

        Assert.False(applied);
        AssertSameRun(before, await GetAsync(store, run.Id));
        Assert.Empty(await store.Steps.GetStepsAsync(run.Id));
        Assert.Empty(await store.Steps.GetAttemptsAsync(run.Id));
    }

    [Theory]
    [InlineData("other-run")]
    [InlineData("other-owner")]
    [InlineData("no-step-key")]
    [InlineData("no-step-status")]
    public async Task UpdateRunAsync_EndedAttemptNotOfThisUpdate_ThrowsArgumentExceptionAndWritesNothing(string fault)
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        var other = await CreateClaimedAsync(store, "node-a");
        var before = await GetAsync(store, run.Id);
        var ended = Ended(run.Id, "forward", 1, T0.AddSeconds(1), T0.AddSeconds(2)) with { StepStatus = StepStatus.Succeeded, Result = "7" };
        ended = fault switch
        {
            "other-run" => ended with { RunId = other.Id },
            "other-owner" => ended with { Owner = "node-b" },
            "no-step-key" => ended with { StepKey = "" },
            _ => ended with { StepStatus = null },
        };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => store.Runs.UpdateRunAsync(FinishWithStep(run.Id, "node-a", T0.AddSeconds(3), ended)));

        Assert.Contains("ended attempt", error.Message, StringComparison.Ordinal);
        AssertSameRun(before, await GetAsync(store, run.Id));
        Assert.Empty(await store.Steps.GetStepsAsync(run.Id));
        Assert.Empty(await store.Steps.GetStepsAsync(other.Id));
        Assert.Empty(await store.Steps.GetAttemptsAsync(run.Id));
    }
}
