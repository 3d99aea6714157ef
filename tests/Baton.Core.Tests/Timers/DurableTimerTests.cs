using System.Globalization;
using System.Text.Json;
using Baton.Core.Tests.Support;
using Baton.Hosting;
using Baton.Runs;
using Baton.Storage;
using Baton.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Timers;

/// <summary>
/// Durable timers across node restarts: a second node on the same store wakes the run at the wake-up time the
/// first node stored, not at a time counted again from its own start. The clocks are held still until the engine
/// waits for exactly the instant it should, so the times asserted are exact. Nodes drain with a zero timeout: a
/// failed wait then leaves disposal nothing to wait for on a clock that nobody moves.
/// </summary>
public sealed class DurableTimerTests
{
    private static readonly DateTimeOffset Start = EngineHarness.Start;
    private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);

    [Fact]
    public Task DelayAsync_NodeStoppedWhileSuspended_NewNodeWakesRunAtStoredTime() =>
        SuspendStopAndResumeOnNewNodeAsync((ctx, ct) => ctx.DelayAsync("wait", TimeSpan.FromHours(1), ct), Start.AddHours(1));

    [Fact]
    public Task DelayAsync_NodeStoppedDuringInMemoryWait_NewNodeWakesRunAtStoredTime() =>
        InterruptAndResumeOnNewNodeAsync((ctx, ct) => ctx.DelayAsync("wait", TimeSpan.FromSeconds(4), ct), Start.AddSeconds(4));

    [Fact]
    public Task SleepUntilAsync_NodeStoppedWhileSuspended_NewNodeWakesRunAtTheInstant() =>
        SuspendStopAndResumeOnNewNodeAsync((ctx, ct) => ctx.SleepUntilAsync("wait", Start.AddHours(2), ct), Start.AddHours(2));

    [Fact]
    public Task SleepUntilAsync_NodeStoppedDuringInMemoryWait_NewNodeWakesRunAtTheInstant() =>
        InterruptAndResumeOnNewNodeAsync((ctx, ct) => ctx.SleepUntilAsync("wait", Start.AddSeconds(4), ct), Start.AddSeconds(4));

    [Fact]
    public async Task SleepUntilAsync_InstantAhead_WakesAtTheInstantNotBefore()
    {
        var wakeAt = Start.AddSeconds(3);
        var counts = new Counts();
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(b => Sleeper(b, (ctx, ct) => ctx.SleepUntilAsync("wait", wakeAt, ct), counts), o => o.DrainTimeout = TimeSpan.Zero, time: clock);

        var id = await node.StartRunAsync("sleeper");
        await clock.WaitForTimerAsync(wakeAt);
        clock.SetUtcNow(wakeAt - Millisecond);
        var afterBeforeWake = Volatile.Read(ref counts.After);
        clock.SetUtcNow(wakeAt);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(0, afterBeforeWake);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(1, run.Executions);
        Assert.Equal(wakeAt, await AfterStartedAtAsync(node, id));
    }

    [Fact]
    public async Task SleepUntilAsync_InstantPassed_GoesOnWithoutWaiting()
    {
        var counts = new Counts();
        await using var node = await EngineHarness.StartAsync(b => Sleeper(b, (ctx, ct) => ctx.SleepUntilAsync("wait", Start.AddMinutes(-1), ct), counts));

        var id = await node.StartRunAsync("sleeper");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(1, run.Executions);
        Assert.Equal(Start, await AfterStartedAtAsync(node, id));
        var timer = Assert.Single(await node.Store.Steps.GetStepsAsync(id), s => s.Kind == StepKind.Timer);
        var storedWakeAt = DateTimeOffset.Parse(JsonSerializer.Deserialize<string>(timer.Result!)!, CultureInfo.InvariantCulture);
        Assert.Equal(Start.AddMinutes(-1), storedWakeAt);
    }

    /// <summary>
    /// A timer waiting in memory beside a step (the step in flight kept it from suspending) counts for the run's wake-up when
    /// that step's 1 h retry wait suspends the run: the run wakes at the timer (+10 min) and the workflow's limit fires then.
    /// Before, the suspension knew only the retry wait: the run slept the hour and the 10-minute limit fired 50 minutes late.
    /// </summary>
    [Fact]
    public async Task DelayAsync_InMemoryBesideAStepWhoseRetryWaitSuspendsTheRun_RunWakesAtTheTimer()
    {
        var clock = new ExactClock(Start);
        var limitAt = Start.AddMinutes(10);
        var policy = new Baton.Retries.RetryPolicy { MaxAttempts = 3, BaseDelay = TimeSpan.FromHours(1), MaxDelay = TimeSpan.FromHours(2), JitterFactor = 0 };
        var calls = 0;
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, string>("limited", async (ctx, _, ct) =>
            {
                var call = ctx.StepAsync("call", async _ =>
                {
                    if (Interlocked.Increment(ref calls) > 1)
                    {
                        return 1;
                    }

                    // Fails once the limit below waits in memory.
                    await clock.WaitForTimerAsync(limitAt, TimerKind.Delay);
                    throw new InvalidOperationException("first attempt fails");
                }, new Baton.Steps.StepOptions { Retry = policy }, cancellationToken: ct);
                var limit = ctx.DelayAsync("limit", limitAt - Start, ct);
                return await Task.WhenAny(limit, call) == limit ? "limit" : $"{await call}";
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        await SuspendsUntilTheLimitAndEndsThereAsync(node, clock, "limited", limitAt);
    }

    /// <summary>
    /// <c>WhenAny(eventWait, timer)</c>, the README's approval with a limit: the event wait finds no event and suspends the
    /// run while the timer, reached for the first time, is still storing its wake-up time (held here until the workflow has
    /// seen the suspension). The run wakes at the limit. Before, the suspension was taken without the timer: the run slept
    /// until 9999-01-01 (an event wait has no time of its own) and the limit never fired.
    /// </summary>
    [Fact]
    public async Task DelayAsync_StoringItsWakeUpTimeWhileAnEventWaitBesideItSuspends_RunWakesAtTheTimer()
    {
        var clock = new ExactClock(Start);
        var limitAt = Start.AddMinutes(10);
        var steps = new StepEndHeldStore("limit");
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, string>("approval", async (ctx, _, ct) =>
            {
                try
                {
                    var approved = ctx.WaitForEventAsync<string>("approved", cancellationToken: ct);
                    var limit = ctx.DelayAsync("limit", limitAt - Start, ct);
                    return await Task.WhenAny(approved, limit) == limit ? "limit" : await approved;
                }
                finally
                {
                    steps.Release();
                }
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock,
            configureServices: steps.InPlaceOfTheStepStore());

        await SuspendsUntilTheLimitAndEndsThereAsync(node, clock, "approval", limitAt);
    }

    /// <summary>Starts <paramref name="workflow"/>: it suspends until <paramref name="limitAt"/>, wakes then and ends with <c>"limit"</c>.</summary>
    private static async Task SuspendsUntilTheLimitAndEndsThereAsync(EngineHarness node, ExactClock clock, string workflow, DateTimeOffset limitAt)
    {
        var id = await node.StartRunAsync(workflow);
        var suspended = await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);
        Assert.Equal(limitAt, suspended.RunAfter);
        clock.AdvanceTo(limitAt);
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal((RunStatus.Succeeded, "\"limit\""), (run.Status, run.Output));
    }

    /// <summary>
    /// A long timer suspends the run on node A, which then stops. Node B starts one millisecond before the wake-up
    /// time: its first claim must leave the run asleep, and the claim at the wake-up time must finish it.
    /// </summary>
    private static async Task SuspendStopAndResumeOnNewNodeAsync(Func<IWorkflowContext, CancellationToken, Task> wait, DateTimeOffset wakeAt)
    {
        var path = EngineHarness.NewDatabasePath();
        var counts = new Counts();
        string id;
        await using (var first = await EngineHarness.StartAsync(b => Sleeper(b, wait, counts), databasePath: path))
        {
            id = await first.StartRunAsync("sleeper");
            var suspended = await first.WaitForAsync(id, r => r.Status == RunStatus.Suspended);
            Assert.Equal(wakeAt, suspended.RunAfter);
            Assert.Null(suspended.LeaseOwner);
        }

        // With a 1 ms poll, node B's first claim pass (at wake-up minus 1 ms) ends by arming its next poll for exactly
        // the wake-up time; moving the clock there then makes the worker claim again at that instant.
        var clock = new ExactClock(wakeAt - Millisecond);
        await using (var second = await EngineHarness.StartAsync(
            b => Sleeper(b, wait, counts), o => { o.NodeId = "node-b"; o.PollInterval = Millisecond; o.DrainTimeout = TimeSpan.Zero; }, databasePath: path, time: clock))
        {
            await clock.WaitForTimerAsync(wakeAt);
            var early = await second.Store.Runs.GetRunAsync(id);
            clock.SetUtcNow(wakeAt);
            var run = await second.WaitForAsync(id, r => r.Executions >= 2 && r.LeaseOwner is null);

            Assert.Equal(RunStatus.Suspended, early!.Status);
            Assert.Equal(1, early.Executions);
            Assert.True(run.Status == RunStatus.Succeeded, $"run is {run.Status} (run after {run.RunAfter:O}) instead of woken at {wakeAt:O}");
            Assert.Equal(2, run.Executions);
            Assert.Equal(wakeAt, await AfterStartedAtAsync(second, id));
        }

        Assert.Equal(1, counts.Before);
        Assert.Equal(1, counts.After);
        EngineHarness.DeleteDatabase(path);
    }

    /// <summary>
    /// A short timer waits in memory on node A, which stops (interrupting the wait and releasing the lease). Node B
    /// starts 1.5 s after the timer began: it must wait only for the rest of the stored time, to the same instant.
    /// </summary>
    private static async Task InterruptAndResumeOnNewNodeAsync(Func<IWorkflowContext, CancellationToken, Task> wait, DateTimeOffset wakeAt)
    {
        var path = EngineHarness.NewDatabasePath();
        var counts = new Counts();
        string id;
        var firstClock = new ExactClock(Start);
        await using (var first = await EngineHarness.StartAsync(b => Sleeper(b, wait, counts), o => o.DrainTimeout = TimeSpan.Zero, databasePath: path, time: firstClock))
        {
            id = await first.StartRunAsync("sleeper");
            await firstClock.WaitForTimerAsync(wakeAt);
            await first.StopAsync();

            var interrupted = await first.Store.Runs.GetRunAsync(id);
            Assert.Equal(RunStatus.Running, interrupted!.Status);
            Assert.Null(interrupted.LeaseOwner);
        }

        var clock = new ExactClock(Start.AddSeconds(1.5));
        await using (var second = await EngineHarness.StartAsync(b => Sleeper(b, wait, counts), o => { o.NodeId = "node-b"; o.DrainTimeout = TimeSpan.Zero; }, databasePath: path, time: clock))
        {
            await clock.WaitForTimerAsync(wakeAt);
            clock.SetUtcNow(wakeAt - Millisecond);
            var afterBeforeWake = Volatile.Read(ref counts.After);
            clock.SetUtcNow(wakeAt);
            var run = await second.WaitForEndAsync(id);

            Assert.Equal(0, afterBeforeWake);
            Assert.Equal(RunStatus.Succeeded, run.Status);
            Assert.Equal(2, run.Executions);
            Assert.Equal(wakeAt, await AfterStartedAtAsync(second, id));
        }

        Assert.Equal(1, counts.Before);
        Assert.Equal(1, counts.After);
        EngineHarness.DeleteDatabase(path);
    }

    private static void Sleeper(BatonBuilder b, Func<IWorkflowContext, CancellationToken, Task> wait, Counts counts) =>
        b.AddWorkflow<int, int>("sleeper", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("before", _ => Task.FromResult(Interlocked.Increment(ref counts.Before)), cancellationToken: ct);
            await wait(ctx, ct);
            return await ctx.StepAsync("after", _ => Task.FromResult(Interlocked.Increment(ref counts.After)), cancellationToken: ct);
        });

    private static async Task<DateTimeOffset> AfterStartedAtAsync(EngineHarness node, string runId) =>
        Assert.Single(await node.Store.Steps.GetAttemptsAsync(runId), a => a.StepKey == "after").StartedAt;

    private sealed class Counts
    {
        public int Before;
        public int After;
    }
}
