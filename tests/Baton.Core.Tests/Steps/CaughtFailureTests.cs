using System.Collections.Concurrent;
using Baton.Core.Tests.Support;
using Baton.Retries;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;

namespace Baton.Core.Tests.Steps;

/// <summary>
/// A failure the workflow saw (a step or a child that failed for good) is thrown again where a resumed run, or a replay
/// that collects compensations, reaches it; only a retry runs a failed step again. Found by a review of compensation.
/// </summary>
public sealed class CaughtFailureTests
{
    private static readonly DateTimeOffset Start = EngineHarness.Start;

    [Fact]
    public async Task StepAsync_FailureCaughtThenRunResumedAfterATimer_StepIsNotRunAgainAndTheReplayKeepsTheFallback()
    {
        var riskyCalls = 0;
        var fallbackCalls = 0;
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, string>("caught", async (ctx, _, ct) =>
            {
                string path;
                try
                {
                    // Fails for good the first time (non-retryable), would succeed if called again.
                    path = await ctx.StepAsync("risky", _ => Interlocked.Increment(ref riskyCalls) == 1
                        ? throw new NonRetryableException("upstream refused")
                        : Task.FromResult("risky"), cancellationToken: ct);
                }
                catch (StepFailedException)
                {
                    path = await ctx.StepAsync("fallback", _ => { Interlocked.Increment(ref fallbackCalls); return Task.FromResult("fallback"); }, cancellationToken: ct);
                }

                await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
                return path;
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var id = await node.StartRunAsync("caught");
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);
        clock.SetUtcNow(Start.AddHours(1));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        // The first execution took the fallback branch; the replay must take it too, and must not call "risky" again.
        Assert.Equal((1, 1, "\"fallback\""), (riskyCalls, fallbackCalls, run.Output));
    }

    [Fact]
    public async Task RetryRunAsync_RunFailedWhereAStepFailed_RunsThatStepAgainAndSucceeds()
    {
        // The retry's side of the replay rule above: the failed step that ended the run is reopened and runs again.
        var tries = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("flaky", async (ctx, _, ct) =>
            await ctx.StepAsync("call", _ => Interlocked.Increment(ref tries) == 1
                ? throw new NonRetryableException("upstream refused")
                : Task.FromResult("ok"), cancellationToken: ct)));
        var id = await node.StartRunAsync("flaky");
        var failed = await node.WaitForEndAsync(id);

        Assert.Equal(RetryRunOutcome.Retried, (await node.Client.RetryRunAsync(id)).Outcome);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal((RunStatus.Failed, "call"), (failed.Status, failed.Failure!.Step));
        Assert.Equal((RunStatus.Succeeded, "\"ok\"", 2), (run.Status, run.Output, tries));
        var step = Assert.Single(await node.Store.Steps.GetStepsAsync(id));
        Assert.Equal((StepStatus.Succeeded, 2), (step.Status, step.Attempts));
    }

    [Fact]
    public async Task CancelRunAsync_SuspendedRunThatCaughtAStepFailure_CompensatesTheFallbackStep()
    {
        var undone = new ConcurrentQueue<string>();
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b => CaughtFailureWorkflow<StepFailedException>.Add(b, "caught-saga", (ctx, ct) =>
                ctx.StepAsync<int>("primary", _ => throw new NonRetryableException("primary supplier refused"), cancellationToken: ct), undone),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var run = await node.CancelOnceSuspendedAsync(await node.StartRunAsync("caught-saga"), _ => true);

        Assert.Equal(RunStatus.Cancelled, run.Status);
        // "backup" completed and registered a compensation: a cancelled run runs the compensations of its completed steps.
        Assert.Equal(["backup"], undone);
        Assert.Equal("compensated", run.Failure?.SagaState);
    }

    [Fact]
    public async Task CancelRunAsync_SuspendedParentThatCaughtAChildFailure_CompensatesTheFallbackStep()
    {
        // The README: a ChildRunFailedException "is thrown again at the same call on resume" - but not in the replay that
        // collects compensations, which stops there instead.
        var undone = new ConcurrentQueue<string>();
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b =>
            {
                b.AddWorkflow<int, int>("failing-child", (_, _, _) => throw new NonRetryableException("child refused"));
                CaughtFailureWorkflow<Baton.Children.ChildRunFailedException>.Add(b, "parent", (ctx, ct) =>
                    ctx.RunChildAsync<int>("failing-child", 1, cancellationToken: ct), undone);
            },
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var run = await node.CancelOnceSuspendedAsync(await node.StartRunAsync("parent"), r => r.RunAfter == Start.AddHours(1));

        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.Equal(["backup"], undone);
    }

    [Fact]
    public async Task RetryRunAsync_CancelledRunWhoseCompensationsRan_IsRefusedAndNothingRunsAgain()
    {
        var reserved = 0;
        var released = 0;
        var block = true;
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("order", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("reserve", _ => { Interlocked.Increment(ref reserved); return Task.FromResult(1); },
                compensate: (_, _) => { Interlocked.Increment(ref released); return Task.CompletedTask; }, cancellationToken: ct);
            await ctx.StepAsync("charge", async token =>
            {
                if (Volatile.Read(ref block))
                {
                    blocked.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }

                return 1;
            }, cancellationToken: ct);
            return 0;
        }));

        var id = await node.StartRunAsync("order");
        await blocked.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await node.Client.CancelRunAsync(id);
        var cancelled = await node.WaitForEndAsync(id);
        Assert.Equal((RunStatus.Cancelled, "compensated", 1, 1), (cancelled.Status, cancelled.Failure?.SagaState, reserved, released));

        Volatile.Write(ref block, false);
        var retry = await node.Client.RetryRunAsync(id);
        var after = await node.Store.Runs.GetRunAsync(id);

        // Refused like a compensated run (before: retried, and it succeeded with its reservation released).
        Assert.Equal(RetryRunOutcome.NotRetryable, retry.Outcome);
        Assert.Equal((RunStatus.Cancelled, "compensated"), (after!.Status, after.Failure?.SagaState));
        Assert.Equal((1, 1), (reserved, released));
    }

    [Fact]
    public async Task RetryRunAsync_StepFailureCaughtThenALaterStepFailed_RetryKeepsTheFallbackBranch()
    {
        // A retry reopens only the step the run's failure names ("ship"). Before (a review): it reopened every failed step, so
        // "primary" ran again, the replay took the other branch, and the "backup" already bought was left behind.
        var primaryCalls = 0;
        var backupCalls = 0;
        var shipCalls = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("caught-retry", async (ctx, _, ct) =>
        {
            string path;
            try
            {
                path = await ctx.StepAsync("primary", _ => Interlocked.Increment(ref primaryCalls) == 1
                    ? throw new NonRetryableException("primary supplier refused")
                    : Task.FromResult("primary"), cancellationToken: ct);
            }
            catch (StepFailedException)
            {
                path = await ctx.StepAsync("backup", _ => { Interlocked.Increment(ref backupCalls); return Task.FromResult("backup"); }, cancellationToken: ct);
            }

            await ctx.StepAsync("ship", _ => Interlocked.Increment(ref shipCalls) == 1
                ? throw new NonRetryableException("carrier down")
                : Task.FromResult(1), cancellationToken: ct);
            return path;
        }));

        var id = await node.StartRunAsync("caught-retry");
        var failed = await node.WaitForEndAsync(id);
        Assert.Equal((RunStatus.Failed, "ship"), (failed.Status, failed.Failure?.Step));

        Assert.Equal(RetryRunOutcome.Retried, (await node.Client.RetryRunAsync(id)).Outcome);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        // The run bought from the backup supplier; a retry of the shipment must not buy from the primary one as well.
        Assert.Equal(("\"backup\"", 1, 1), (run.Output, primaryCalls, backupCalls));
    }

    [Fact]
    public async Task StepAsync_CutOffByTheWorkflowsTokenAndCaughtAsTaskCanceled_ResumedRunTakesTheSameBranch()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, string>("cut", async (ctx, _, ct) =>
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var slow = ctx.StepAsync("slow", async token =>
                {
                    started.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                    return 1;
                }, cancellationToken: cts.Token);
                await started.Task;
                await cts.CancelAsync();
                string path;
                try
                {
                    await slow;
                    path = "done";
                }
                catch (TaskCanceledException)
                {
                    path = "task-cancelled";
                }
                catch (OperationCanceledException)
                {
                    path = "operation-cancelled";
                }

                await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
                return path;
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var run = await RunPastItsHourlyTimerAsync(node, clock, "cut");

        // The first execution caught a TaskCanceledException (Task.Delay's); the replay runs the cut-off step again, cuts it
        // again, and takes the same branch.
        Assert.Equal((RunStatus.Succeeded, "\"task-cancelled\""), (run.Status, run.Output));
    }

    [Fact]
    public async Task StepAsync_WhenAnyRaceWonByTheSecondStepLoserCutOff_ResumedRunKeepsTheSameWinner()
    {
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, string>("race", async (ctx, _, ct) =>
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var slow = ctx.StepAsync("supplier-a", async token =>
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                    return "a";
                }, cancellationToken: cts.Token);
                var fast = ctx.StepAsync("supplier-b", _ => Task.FromResult("b"), cancellationToken: cts.Token);
                var winner = await Task.WhenAny(slow, fast);
                await cts.CancelAsync();
                var quote = await winner;
                try
                {
                    await slow;
                }
                catch (OperationCanceledException)
                {
                }

                await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
                return quote;
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var run = await RunPastItsHourlyTimerAsync(node, clock, "race");

        // The first execution took supplier-b's quote; the replay must too (before the change it did: the cut-off step ran
        // again and lost the race again).
        Assert.True(run.Status == RunStatus.Succeeded, $"{run.Status}: {run.Failure?.ErrorType} {run.Failure?.Message}");
        Assert.Equal("\"b\"", run.Output);
    }

    [Fact]
    public async Task StepAsync_FailedForGoodWithItsOwnTimeoutsTaskCanceledAndCaught_ResumedRunTakesTheFallbackAgain()
    {
        // HttpClient's own Timeout throws TaskCanceledException with no token cancelled: the step fails for good and the
        // workflow gets a StepFailedException (ErrorType TaskCanceledException). Before (a review): a resumed run got an
        // OperationCanceledException instead, which the workflow's catch did not match.
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, string>("http", async (ctx, _, ct) =>
            {
                string path;
                try
                {
                    path = await ctx.StepAsync<string>("call", _ => throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing."),
                        new StepOptions { Retry = RetryPolicy.None }, cancellationToken: ct);
                }
                catch (StepFailedException)
                {
                    path = "fallback";
                }

                await ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct);
                return path;
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var run = await RunPastItsHourlyTimerAsync(node, clock, "http");

        Assert.True(run.Status == RunStatus.Succeeded, $"{run.Status}: {run.Failure?.ErrorType} {run.Failure?.Message}");
        Assert.Equal("\"fallback\"", run.Output);
    }

    [Fact]
    public async Task StepAsync_RunFailsBesideAStepThatIgnoresItsToken_RunEndsAfterTheStopGrace()
    {
        // A step that takes no token (a legacy SDK) cannot be stopped: the failed run waits RunExecutor.StopGrace for it, then
        // ends without it. Before (a review of this change): it waited for ever, its lease renewed, deaf to a cancel.
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = new ExactClock(Start);
        var logs = new Baton.Testing.CapturingLoggerProvider();
        var (node, id) = await StartRunWaitingOnAStubbornStepAsync(release.Task, clock, logs);
        await using var stopped = node;

        try
        {
            var waiting = await node.Store.Runs.GetRunAsync(id);
            clock.AdvanceTo(Start + Baton.Workers.RunExecutor.StopGrace);
            var run = await node.WaitForEndAsync(id);

            Assert.Equal(RunStatus.Running, waiting!.Status);
            Assert.Equal((RunStatus.Failed, "main"), (run.Status, run.Failure!.Step));
            Assert.Contains(logs.Entries, e => e.EventId == 109);
        }
        finally
        {
            release.TrySetResult(1);
        }
    }

    [Fact]
    public async Task StepAsync_NodeStopsWhileAFailedRunWaitsForAStepThatIgnoresItsToken_RunIsLeftToTheNextOwner()
    {
        // A shutdown during that wait interrupts it as at any other point: the lease is handed back, the run not ended.
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (node, id) = await StartRunWaitingOnAStubbornStepAsync(release.Task, new ExactClock(Start));
        try
        {
            await node.StopAsync();
            var left = await node.Store.Runs.GetRunAsync(id);

            Assert.Equal((RunStatus.Running, null), (left!.Status, left.LeaseOwner));
            Assert.Null(left.Failure);
        }
        finally
        {
            release.TrySetResult(1);
            await node.DisposeAsync();
        }
    }

    /// <summary>
    /// Starts a run whose step "main" fails while its step "side", which takes no token, waits for <paramref name="side"/>;
    /// returns once the failed run waits <see cref="Baton.Workers.RunExecutor.StopGrace"/> for "side" (the lease is 10 min, so
    /// no other timer is due then).
    /// </summary>
    private static async Task<(EngineHarness Node, string Id)> StartRunWaitingOnAStubbornStepAsync(Task<int> side, ExactClock clock, Baton.Testing.CapturingLoggerProvider? logs = null)
    {
        var sideStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("stubborn", async (ctx, _, ct) =>
            {
                var running = ctx.StepAsync("side", async _ => { sideStarted.TrySetResult(); return await side; }, cancellationToken: ct);
                await sideStarted.Task;
                await ctx.StepAsync<int>("main", _ => throw new NonRetryableException("refused"), cancellationToken: ct);
                return await running;
            }),
            o => (o.LeaseDuration, o.HeartbeatInterval, o.DrainTimeout) = (TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1), TimeSpan.Zero),
            time: clock,
            logs: logs);
        var id = await node.StartRunAsync("stubborn");
        await clock.WaitForTimerAsync(Start + Baton.Workers.RunExecutor.StopGrace);
        return (node, id);
    }

    /// <summary>Starts a run of <paramref name="workflow"/>, lets it suspend on its one-hour timer, wakes it then, and returns its end.</summary>
    private static async Task<RunRecord> RunPastItsHourlyTimerAsync(EngineHarness node, ExactClock clock, string workflow)
    {
        var id = await node.StartRunAsync(workflow);
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.RunAfter == Start.AddHours(1));
        clock.SetUtcNow(Start.AddHours(1));
        node.WakeWorker();
        return await node.WaitForEndAsync(id);
    }
}
