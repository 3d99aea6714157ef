using System.Diagnostics;
using System.Text.Json;
using Baton.Core.Tests.Support;
using Baton.Events;
using Baton.Hosting;
using Baton.Runs;
using Baton.Storage;

namespace Baton.Core.Tests.Events;

/// <summary>
/// External events on one node with the fake clock: a waiting run holds nothing while it waits, an event sent early is
/// kept for the wait, events of one name are taken in order, and a timeout is an exception the workflow can catch.
/// </summary>
public sealed class EventWaitTests
{
    private static readonly DateTimeOffset Start = EngineHarness.Start;

    [Fact]
    public async Task SendEventAsync_WhileRunWaits_RunResumesWithPayloadAndHeldNoLeaseOrSlot()
    {
        var before = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("before", _ => Task.FromResult(Interlocked.Increment(ref before)), cancellationToken: ct);
            var approval = await ctx.WaitForEventAsync<Approval>("approved", cancellationToken: ct);
            return approval.By;
        }));
        var firstExecutionEnded = new TaskCompletionSource();
        node.Worker.ExecutionEnded += _ => firstExecutionEnded.TrySetResult();

        var id = await node.StartRunAsync("waiter");
        await firstExecutionEnded.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var waiting = await node.Store.Runs.GetRunAsync(id);
        var slotsInUse = node.Worker.ActiveCount;
        var sent = await node.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement(new Approval("ann")));
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Suspended, waiting!.Status);
        Assert.Null(waiting.LeaseOwner);
        Assert.Equal(0, slotsInUse);
        Assert.Equal(EventSendOutcome.Stored, sent.Outcome);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("\"ann\"", run.Output);
        Assert.Equal(2, run.Executions);
        Assert.Equal(1, before);
        var wait = Assert.Single(await node.Store.Steps.GetStepsAsync(id), s => s.Kind == StepKind.Event);
        Assert.Equal(("event:approved", StepStatus.Succeeded), (wait.Key, wait.Status));
        Assert.True((await node.Client.GetRunAsync(id))!.Events.Single().Consumed);
    }

    [Fact]
    public async Task SendEventAsync_BeforeRunWaits_EventIsKeptForTheWait()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
            (await ctx.WaitForEventAsync<Approval>("approved", cancellationToken: ct)).By));
        var id = await StartLaterAsync(node, "waiter", Start.AddMinutes(1));

        await node.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement(new Approval("bob")));
        node.Time.SetUtcNow(Start.AddMinutes(1));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("\"bob\"", run.Output);
        Assert.Equal(1, run.Executions);
    }

    [Fact]
    public async Task WaitForEventAsync_TwoEventsOneName_TakesThemOnceEachInStoredOrder()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("collector", async (ctx, _, ct) =>
        {
            var first = await ctx.WaitForEventAsync<int>("item", cancellationToken: ct);
            var second = await ctx.WaitForEventAsync<int>("item", cancellationToken: ct);
            return $"{first},{second}";
        }));
        var id = await StartLaterAsync(node, "collector", Start.AddMinutes(1));

        await node.Client.SendEventAsync(id, "item", JsonSerializer.SerializeToElement(1));
        await node.Client.SendEventAsync(id, "item", JsonSerializer.SerializeToElement(2));
        await node.Client.SendEventAsync(id, "item", JsonSerializer.SerializeToElement(3));
        node.Time.SetUtcNow(Start.AddMinutes(1));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal("\"1,2\"", run.Output);
        var events = (await node.Client.GetRunAsync(id))!.Events;
        Assert.Equal([true, true, false], events.Select(e => e.Consumed));
    }

    [Fact]
    public async Task WaitForEventAsync_NoEventBeforeTimeout_ThrowsEventTimeoutExceptionTheWorkflowCatches()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
        {
            try
            {
                return (await ctx.WaitForEventAsync<Approval>("approved", TimeSpan.FromHours(1), ct)).By;
            }
            catch (EventTimeoutException e)
            {
                return "timed out: " + e.EventName;
            }
        }));

        var id = await node.StartRunAsync("waiter");
        var waiting = await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        node.Time.SetUtcNow(Start.AddHours(1));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(Start.AddHours(1), waiting.RunAfter);
        Assert.Equal("\"timed out: approved\"", run.Output);
        var wait = Assert.Single(await node.Store.Steps.GetStepsAsync(id));
        Assert.Equal((StepStatus.Failed, typeof(EventTimeoutException).FullName), (wait.Status, wait.ErrorType));
        var late = await node.Client.SendEventAsync(id, "approved", null);
        Assert.Equal(EventSendOutcome.RunFinished, late.Outcome);
    }

    [Fact]
    public async Task RetryRunAsync_RunFailedOnEventTimeout_WaitsAgainAndTakesEventSentLater()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
            (await ctx.WaitForEventAsync<Approval>("approved", TimeSpan.FromHours(1), ct)).By));
        var id = await node.StartRunAsync("waiter");
        await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        node.Time.SetUtcNow(Start.AddHours(1));
        node.WakeWorker();
        var failed = await node.WaitForEndAsync(id);

        node.Time.SetUtcNow(Start.AddHours(2));
        await node.Client.RetryRunAsync(id);
        var waitingAgain = await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        await node.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement(new Approval("cy")));
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, failed.Status);
        Assert.Equal(typeof(EventTimeoutException).FullName, failed.Failure!.ErrorType);
        Assert.Equal(Start.AddHours(3), waitingAgain.RunAfter);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("\"cy\"", run.Output);
        Assert.Equal(2, Assert.Single(await node.Store.Steps.GetStepsAsync(id)).Attempts);
    }

    [Fact]
    public async Task WaitForEventAsync_PayloadNotReadableAsTheType_FailsTheRunNamingTheWaitAndARetryWaitsForTheNextEvent()
    {
        // Before: the payload was stored as the wait's result, the run failed with a bare JsonException, and every retry failed
        // with "the stored result of step 'event:approved' cannot be read".
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
            (await ctx.WaitForEventAsync<Approval>("approved", TimeSpan.FromHours(1), ct)).By));
        var id = await node.StartRunAsync("waiter");
        await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        await node.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement("yes, approved"));
        var failed = await node.WaitForEndAsync(id);
        var failedWait = Assert.Single(await node.Store.Steps.GetStepsAsync(id));

        node.Time.SetUtcNow(Start.AddHours(2));
        Assert.Equal(RetryRunOutcome.Retried, (await node.Client.RetryRunAsync(id)).Outcome);
        var waitingAgain = await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        await node.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement(new Approval("dee")));
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, failed.Status);
        Assert.Equal((typeof(EventPayloadException).FullName, "event:approved"), (failed.Failure!.ErrorType, failed.Failure.Step));
        Assert.StartsWith("the payload of event 'approved' cannot be read as Approval: ", failed.Failure.Message, StringComparison.Ordinal);
        Assert.Equal((StepStatus.Failed, null, typeof(EventPayloadException).FullName), (failedWait.Status, failedWait.Result, failedWait.ErrorType));
        Assert.Equal(Start.AddHours(3), waitingAgain.RunAfter);
        Assert.Equal((RunStatus.Succeeded, "\"dee\""), (run.Status, run.Output));
        var attempts = await node.Store.Steps.GetAttemptsAsync(id);
        Assert.Equal([AttemptOutcome.Failed, AttemptOutcome.Succeeded], attempts.Select(a => a.Outcome));
    }

    [Fact]
    public async Task WaitForEventAsync_UnreadablePayloadCaught_ResumedRunGetsTheSameErrorAgain()
    {
        var caught = new List<string>();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
        {
            string by;
            try
            {
                by = (await ctx.WaitForEventAsync<Approval>("approved", cancellationToken: ct)).By;
            }
            catch (EventPayloadException ex)
            {
                lock (caught)
                {
                    caught.Add($"{ex.EventName} {ex.StepKey}: {ex.Message}");
                }

                by = "unreadable";
            }

            await ctx.DelayAsync("later", TimeSpan.FromHours(1), ct);
            return by;
        }));
        var id = await node.StartRunAsync("waiter");
        await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        await node.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement(42));
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.RunAfter == Start.AddHours(1));
        node.Time.SetUtcNow(Start.AddHours(1));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal((RunStatus.Succeeded, "\"unreadable\""), (run.Status, run.Output));
        Assert.Equal(2, caught.Count);
        Assert.Equal(caught[0], caught[1]);
        Assert.StartsWith("approved event:approved: the payload of event 'approved' cannot be read as Approval: ", caught[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RetryRunAsync_RunCancelledWhileWaitingWithATimeout_WaitsAgainWithANewTimeout()
    {
        // Before: the retried wait kept its first start, so a retry after the old deadline timed out at once (a retry after a
        // timeout got a new one).
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
            (await ctx.WaitForEventAsync<Approval>("approved", TimeSpan.FromHours(1), ct)).By));
        var id = await node.StartRunAsync("waiter");
        await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        node.Time.SetUtcNow(Start.AddMinutes(30));
        await node.Client.CancelRunAsync(id);
        var cancelled = await node.WaitForEndAsync(id);

        node.Time.SetUtcNow(Start.AddHours(2));
        Assert.Equal(RetryRunOutcome.Retried, (await node.Client.RetryRunAsync(id)).Outcome);
        var waitingAgain = await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        await node.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement(new Approval("eve")));
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Cancelled, cancelled.Status);
        Assert.Equal(Start.AddHours(3), waitingAgain.RunAfter);
        Assert.Equal((RunStatus.Succeeded, "\"eve\""), (run.Status, run.Output));
        Assert.Equal(2, Assert.Single(await node.Store.Steps.GetStepsAsync(id)).Attempts);
    }

    [Fact]
    public async Task RetryRunAsync_TimeoutCaughtThenALaterStepFailed_RetryKeepsTheTimeoutBranch()
    {
        // Only a timeout that ended the run is waited for again on a retry; one the workflow went on from is replayed.
        var afterTries = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
        {
            string by;
            try
            {
                by = (await ctx.WaitForEventAsync<Approval>("approved", TimeSpan.FromHours(1), ct)).By;
            }
            catch (EventTimeoutException)
            {
                by = "timeout";
            }

            await ctx.StepAsync("after", _ => Interlocked.Increment(ref afterTries) == 1 ? throw new Baton.Retries.NonRetryableException("downstream refused") : Task.FromResult(1), cancellationToken: ct);
            return by;
        }));
        var id = await node.StartRunAsync("waiter");
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        node.Time.SetUtcNow(Start.AddHours(1));
        node.WakeWorker();
        var failed = await node.WaitForEndAsync(id);

        await node.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement(new Approval("late")));
        await node.Client.RetryRunAsync(id);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, failed.Status);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("\"timeout\"", run.Output);
        var wait = Assert.Single(await node.Store.Steps.GetStepsAsync(id), s => s.Kind == StepKind.Event);
        Assert.Equal((StepStatus.Failed, 1), (wait.Status, wait.Attempts));
    }

    [Fact]
    public async Task WaitForEventAsync_ResumedAfterCaughtTimeout_ThrowsItAgainWithoutWaiting()
    {
        var caught = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
        {
            try
            {
                await ctx.WaitForEventAsync<Approval>("approved", TimeSpan.FromHours(1), ct);
            }
            catch (EventTimeoutException)
            {
                Interlocked.Increment(ref caught);
            }

            await ctx.DelayAsync("later", TimeSpan.FromHours(1), ct);
            return "went on";
        }));
        var id = await node.StartRunAsync("waiter");
        // Idle before each move of the clock: a claim while the suspended execution still unwinds would count one more.
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.RunAfter == Start.AddHours(1));
        node.Time.SetUtcNow(Start.AddHours(1));
        node.WakeWorker();
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.RunAfter == Start.AddHours(2));
        node.Time.SetUtcNow(Start.AddHours(2));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal("\"went on\"", run.Output);
        Assert.Equal(3, run.Executions);
        Assert.Equal(2, caught);
        Assert.Equal(1, Assert.Single(await node.Store.Steps.GetStepsAsync(id), s => s.Kind == StepKind.Event).Attempts);
    }

    [Fact]
    public async Task CancelRunAsync_RunWaitingForEvent_EndsCancelledAndRunsCompensation()
    {
        var undone = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("reserve", _ => Task.FromResult(1), compensate: (_, _) => Task.FromResult(Interlocked.Increment(ref undone)), cancellationToken: ct);
            return (await ctx.WaitForEventAsync<Approval>("approved", cancellationToken: ct)).By;
        }));
        var id = await node.StartRunAsync("waiter");
        await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);

        var cancel = await node.Client.CancelRunAsync(id);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(CancelRunOutcome.Requested, cancel.Outcome);
        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.Equal(1, undone);
    }

    [Fact]
    public async Task SendEventAsync_UnknownRunOrBadName_StoresNothing()
    {
        await using var node = await EngineHarness.StartAsync(_ => { });

        var unknown = await node.Client.SendEventAsync("no-such-run", "approved", null);
        var badName = await node.Client.SendEventAsync("no-such-run", "not a name", null);

        Assert.Equal(EventSendOutcome.RunNotFound, unknown.Outcome);
        Assert.Equal(EventSendOutcome.Invalid, badName.Outcome);
        Assert.Empty(await node.Store.Events.GetEventsAsync("no-such-run"));
    }

    private static async Task<string> StartLaterAsync(EngineHarness node, string workflow, DateTimeOffset runAfter)
    {
        var result = await node.Client.StartRunAsync(new StartRunRequest { Workflow = workflow, RunAfter = runAfter });
        Assert.Equal(StartRunOutcome.Created, result.Outcome);
        return result.Run!.Id;
    }


    [Fact]
    public async Task RetryRunAsync_WaitTimedOutWhileAParallelBranchStartedAStep_RetryWaitsAgain()
    {
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, string>("approve-and-prepare", async (ctx, _, ct) =>
            {
                async Task<int> PrepareAsync()
                {
                    await ctx.StepAsync("prepare-1", async _ => { await releaseFirst.Task; return 1; }, cancellationToken: ct);
                    return await ctx.StepAsync("prepare-2", _ => Task.FromResult(2), cancellationToken: ct);
                }

                // "prepare-1" is started (counted in flight) before the wait looks: the wait then rests in memory. Started
                // after it, a preempted workflow thread let the wait find nothing in flight first and suspend the run, which
                // then waited for "prepare-1", held until the wait timed out (a 60 s timeout here, once in 12 loaded runs).
                var prepared = PrepareAsync();
                var approval = ctx.WaitForEventAsync<string>("approved", TimeSpan.FromSeconds(5), ct);
                await Task.WhenAll(approval, prepared);
                return approval.Result;
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var id = await node.StartRunAsync("approve-and-prepare");
        // The wait rechecks every second in memory while "prepare-1" runs; move the clock past its timeout.
        await clock.WaitForTimerAsync(Start.AddSeconds(1), TimerKind.Delay);
        clock.AdvanceTo(Start.AddSeconds(5));
        await WaitForStepsAsync(node, id, steps => steps.Any(s => s.Key == "event:approved" && s.Status == StepStatus.Failed));
        releaseFirst.TrySetResult();
        var failed = await node.WaitForEndAsync(id);
        Assert.Equal((RunStatus.Failed, "event:approved"), (failed.Status, failed.Failure?.Step));

        clock.SetUtcNow(Start.AddHours(1));
        Assert.Equal(RetryRunOutcome.Retried, (await node.Client.RetryRunAsync(id)).Outcome);
        // The retried run waits for the approval again (the workflow never went on from the timeout: it was still in WhenAll).
        var again = await node.WaitForAsync(id, r => r.Status.IsTerminal() || (r.Status == RunStatus.Suspended && r.LeaseOwner is null));
        Assert.True(again.Status == RunStatus.Suspended, $"{again.Status}: {again.Failure?.ErrorType} {again.Failure?.Step} {again.Failure?.Message}");
        await node.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement("ann"));
        var run = await node.WaitForEndAsync(id);
        Assert.Equal((RunStatus.Succeeded, "\"ann\""), (run.Status, run.Output));
    }

    [Fact]
    public async Task WaitForEventAsync_PayloadItsTypeRefusesInItsConstructor_ARetryWaitsForTheNextEvent()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("orders", async (ctx, _, ct) =>
            (await ctx.WaitForEventAsync<Order>("order", TimeSpan.FromHours(1), ct)).Id));
        var id = await node.StartRunAsync("orders");
        await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        await node.Client.SendEventAsync(id, "order", JsonSerializer.SerializeToElement(new { id = "" }));
        var failed = await node.WaitForEndAsync(id);
        Assert.Equal(RunStatus.Failed, failed.Status);

        Assert.Equal(RetryRunOutcome.Retried, (await node.Client.RetryRunAsync(id)).Outcome);
        var again = await node.WaitForAsync(id, r => r.Status.IsTerminal() || (r.Status == RunStatus.Suspended && r.LeaseOwner is null));
        // The bad event was taken and failed the run; the retry must wait for the next one instead of taking it again.
        Assert.True(again.Status == RunStatus.Suspended, $"{again.Status}: {again.Failure?.ErrorType} {again.Failure?.Step} {again.Failure?.Message}");
        await node.Client.SendEventAsync(id, "order", JsonSerializer.SerializeToElement(new { id = "o-1" }));
        var run = await node.WaitForEndAsync(id);
        Assert.Equal((RunStatus.Succeeded, "\"o-1\""), (run.Status, run.Output));
    }

    /// <summary>Polls the store (real time, at most 60 s) until the run's steps satisfy <paramref name="until"/>.</summary>
    private static async Task WaitForStepsAsync(EngineHarness node, string id, Func<IReadOnlyList<StepRecord>, bool> until)
    {
        var watch = Stopwatch.StartNew();
        while (!until(await node.Store.Steps.GetStepsAsync(id)))
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("steps never reached the expected state");
            }

            await Task.Delay(10);
        }
    }

    private sealed record Order(string Id)
    {
        public string Id { get; } = !string.IsNullOrEmpty(Id) ? Id : throw new ArgumentException("an order needs an id", nameof(Id));
    }

    private sealed record Approval(string By);
}
