using Baton.Core.Tests.Support;
using Baton.Hosting;
using Baton.Events;
using Baton.Retries;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Retries;

/// <summary>
/// Backoffs between attempts: a long one suspends the run (no lease, no worker slot) until the next attempt is due,
/// a short one, or one while another step is in flight, waits in memory. The fake clock is moved to exact instants.
/// </summary>
public sealed class DurableRetryTests
{
    private static readonly DateTimeOffset Start = EngineHarness.Start;
    private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);

    private static readonly RetryPolicy TenMinutes = new() { MaxAttempts = 3, BaseDelay = TimeSpan.FromMinutes(10), MaxDelay = TimeSpan.FromHours(1), JitterFactor = 0 };

    [Fact]
    public async Task StepAsync_LongBackoff_SuspendsWithoutLeaseOrSlotAndRunsNextAttemptAtDueTime()
    {
        var calls = new Calls();
        var clock = new ExactClock(Start);
        await using var node = await StartFlakyAsync(TenMinutes, clock, calls);

        var id = await node.StartRunAsync("flaky");
        var dueAt = Start.AddMinutes(10);
        // Idle too: the slot is freed just after the suspension is stored.
        var suspended = await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);
        Assert.Equal(dueAt, suspended.RunAfter);
        Assert.Null(suspended.LeaseOwner);
        Assert.Equal(0, node.Worker.ActiveCount);
        var stored = Assert.Single(await node.Store.Steps.GetAttemptsAsync(id));
        Assert.Equal(AttemptOutcome.Failed, stored.Outcome);

        // Just before the due time a claim leaves the run asleep; at the due time it runs attempt 2.
        clock.SetUtcNow(dueAt - Millisecond);
        node.WakeWorker();
        await SecondAttemptSucceedsAtAsync(node, clock, id, dueAt, calls);
        Assert.Equal(2, Assert.Single(await node.Store.Steps.GetStepsAsync(id)).Attempts);
    }

    [Fact]
    public async Task StepAsync_ShortBackoff_WaitsInMemoryHoldingLease()
    {
        var clock = new ExactClock(Start);
        await using var node = await StartFlakyAsync(TenMinutes with { BaseDelay = TimeSpan.FromMilliseconds(500) }, clock, new Calls());

        var id = await node.StartRunAsync("flaky");
        var dueAt = Start.AddMilliseconds(500);
        await clock.WaitForTimerAsync(dueAt, TimerKind.Delay);
        var waiting = await node.Store.Runs.GetRunAsync(id);
        Assert.Equal(RunStatus.Running, waiting!.Status);
        Assert.Equal("node-a", waiting.LeaseOwner);
        Assert.Equal(1, node.Worker.ActiveCount);
        clock.SetUtcNow(dueAt);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(1, run.Executions);
        var attempts = (await node.Store.Steps.GetAttemptsAsync(id)).OrderBy(a => a.Attempt).ToList();
        Assert.Equal(dueAt, attempts[1].StartedAt);
    }

    [Fact]
    public async Task StepAsync_RunCancelledDuringAnInMemoryBackoff_StepEndsFailedItsNextAttemptCancelled()
    {
        // Before (review 58): the step stayed "running" in the store under the cancelled run for ever.
        var clock = new ExactClock(Start);
        await using var node = await StartFlakyAsync(TenMinutes with { BaseDelay = TimeSpan.FromMilliseconds(500) }, clock, new Calls());
        var id = await node.StartRunAsync("flaky");
        await clock.WaitForTimerAsync(Start.AddMilliseconds(500), TimerKind.Delay);

        await node.Client.CancelRunAsync(id);
        var run = await node.WaitForEndAsync(id);
        var step = Assert.Single(await node.Store.Steps.GetStepsAsync(id));
        var attempts = (await node.Store.Steps.GetAttemptsAsync(id)).OrderBy(a => a.Attempt).ToList();

        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.Equal(StepStatus.Failed, step.Status);
        Assert.Equal([AttemptOutcome.Failed, AttemptOutcome.Cancelled], attempts.Select(a => a.Outcome));
        Assert.Equal("cut off before it started, during the backoff", attempts[1].ErrorMessage);
    }

    [Fact]
    public async Task StepAsync_LongBackoffWhileAnotherStepRuns_WaitsInMemory()
    {
        var calls = new Calls();
        var other = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("pair", async (ctx, _, ct) =>
            {
                var slow = ctx.StepAsync("slow", _ => other.Task, cancellationToken: ct);
                var flaky = ctx.StepAsync("call", _ => FailOnce(calls), new StepOptions { Retry = TenMinutes }, cancellationToken: ct);
                return await slow + await flaky;
            }),
            o => { o.DrainTimeout = TimeSpan.Zero; o.LeaseDuration = TimeSpan.FromHours(1); o.HeartbeatInterval = TimeSpan.FromMinutes(20); },
            time: clock);

        var id = await node.StartRunAsync("pair");
        var dueAt = Start.AddMinutes(10);
        await clock.WaitForTimerAsync(dueAt, TimerKind.Delay);
        var waiting = await node.Store.Runs.GetRunAsync(id);
        Assert.Equal(RunStatus.Running, waiting!.Status);
        Assert.Equal(1, node.Worker.ActiveCount);
        other.SetResult(40);
        clock.SetUtcNow(dueAt);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(1, run.Executions);
        var attempts = (await node.Store.Steps.GetAttemptsAsync(id)).Where(a => a.StepKey == "call").OrderBy(a => a.Attempt).ToList();
        Assert.Equal(dueAt, attempts[1].StartedAt);
    }

    /// <summary>
    /// The first node waits out a jittered backoff in memory and stops; the second node, with the default hashed
    /// jitter too, waits until the same due time: the draw depends only on run, step and attempt.
    /// </summary>
    [Fact]
    public async Task StepAsync_ResumedDuringBackoff_NextAttemptAtSameJitteredDueTime()
    {
        var policy = TenMinutes with { BaseDelay = TimeSpan.FromSeconds(4), JitterFactor = 0.5 };
        var path = EngineHarness.NewDatabasePath();
        var calls = new Calls();
        void Workflow(BatonBuilder b) => FlakyWorkflow(b, policy, calls);
        void InMemory(BatonOptions o)
        {
            o.DrainTimeout = TimeSpan.Zero;
            o.RetrySuspendThreshold = TimeSpan.FromHours(1);
        }

        string id;
        DateTimeOffset dueAt;
        var firstClock = new ExactClock(Start);
        await using (var first = await EngineHarness.StartAsync(Workflow, InMemory, databasePath: path, time: firstClock, jitter: new HashedJitter()))
        {
            id = await first.StartRunAsync("flaky");
            dueAt = Start + policy.NextDelay(1, new HashedJitter().Draw(id, "call", 1));
            await firstClock.WaitForTimerAsync(dueAt, TimerKind.Delay);
            await first.StopAsync();
        }

        Assert.NotEqual(Start.AddSeconds(4), dueAt);
        var clock = new ExactClock(Start.AddSeconds(1));
        await using (var second = await EngineHarness.StartAsync(Workflow, o => { InMemory(o); o.NodeId = "node-b"; }, databasePath: path, time: clock, jitter: new HashedJitter()))
        {
            second.WakeWorker();
            await clock.AdvanceToTimerAsync(dueAt, TimerKind.Delay);
            var run = await second.WaitForEndAsync(id);

            Assert.Equal(RunStatus.Succeeded, run.Status);
            var attempts = (await second.Store.Steps.GetAttemptsAsync(id)).OrderBy(a => a.Attempt).ToList();
            Assert.Equal([1, 2], attempts.Select(a => a.Attempt));
            Assert.Equal(dueAt, attempts[1].StartedAt);
        }

        Assert.Equal(2, calls.Count);
        EngineHarness.DeleteDatabase(path);
    }

    /// <summary>
    /// A run woken during its retry wait (by an event it waits for beside the step) waits out the longer wait a
    /// <see cref="RetryAfterException"/> asked for: before, the resumed run recomputed the due time from the policy (+10 s)
    /// and ran the second attempt at +30 s. The due time is now stored with the failed attempt, so the run suspends again
    /// until +120 s.
    /// </summary>
    [Fact]
    public async Task StepAsync_RetryAfterLongerThanBackoffAndEventWakesRun_NextAttemptNotBeforeAskedWait()
    {
        var calls = new Calls();
        var clock = new ExactClock(Start);
        await using var node = await StartLimitedAsync(clock, calls, alsoWaitsFor: "go");

        var id = await node.StartRunAsync("limited");
        var dueAt = Start.AddSeconds(120);
        var suspended = await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);
        Assert.Equal(dueAt, suspended.RunAfter);
        Assert.Equal(dueAt, Assert.Single(await node.Store.Steps.GetAttemptsAsync(id), a => a.StepKey == "call").RetryAt);

        clock.SetUtcNow(Start.AddSeconds(30));
        await node.Store.Events.SendEventAsync(new SendEventRequest { RunId = id, Name = "go", Now = clock.GetUtcNow() });
        node.WakeWorker();
        // Asleep again (the execution that took "go" wakes the run at once once more, then it sleeps) or ended.
        var resumed = await node.WaitForIdleAsync(
            id, r => r.Executions >= 2 && ((r.Status == RunStatus.Suspended && r.RunAfter > clock.GetUtcNow()) || r.Status.IsTerminal()));

        Assert.Equal(RunStatus.Suspended, resumed.Status);
        Assert.Equal(dueAt, resumed.RunAfter);
        Assert.Equal(1, calls.Count);

        await SecondAttemptSucceedsAtAsync(node, clock, id, dueAt, calls);
    }

    /// <summary>
    /// An event the run does not wait for is stored and leaves the run in its retry wait asleep. Before, every event made a
    /// suspended run due: it executed, replayed, found its attempt not yet due and suspended again, one execution per event.
    /// </summary>
    [Fact]
    public async Task StepAsync_EventTheRunDoesNotWaitForSentDuringItsRetryWait_RunStaysAsleepUntilTheAttemptIsDue()
    {
        var calls = new Calls();
        var clock = new ExactClock(Start);
        await using var node = await StartLimitedAsync(clock, calls, alsoWaitsFor: null);
        var id = await node.StartRunAsync("limited");
        var dueAt = Start.AddSeconds(120);
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);

        clock.SetUtcNow(Start.AddSeconds(30));
        var sent = await node.Client.SendEventAsync(id, "unrelated", null);
        node.WakeWorker();
        var asleep = await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);

        Assert.Equal(EventSendOutcome.Stored, sent.Outcome);
        Assert.Equal(dueAt, asleep.RunAfter);
        Assert.Equal(1, asleep.Executions);
        await SecondAttemptSucceedsAtAsync(node, clock, id, dueAt, calls);
        Assert.Equal(2, (await node.Store.Runs.GetRunAsync(id))!.Executions);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Validate_RetrySuspendThresholdNotPositive_NamesTheSetting(int seconds)
    {
        var result = new BatonOptionsValidator().Validate(null, new BatonOptions { RetrySuspendThreshold = TimeSpan.FromSeconds(seconds) });

        Assert.True(result.Failed);
        Assert.Contains($"Baton:Engine:RetrySuspendThreshold ({TimeSpan.FromSeconds(seconds):c}) must be above zero and at most 1.00:00:00", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    // A bare number is days to the binder: "30" was a 30-day lease; a poll of 60 days stopped the server once its timer was
    // armed, a drain of 50 days crashed its stop. Each is now refused at start, naming how it was read.
    [InlineData(nameof(BatonOptions.LeaseDuration), 30, "Baton:Engine:LeaseDuration (30.00:00:00) must be above zero and at most 01:00:00 (a bare number is read as days: write hh:mm:ss, e.g. 00:00:30 for 30 seconds)")]
    [InlineData(nameof(BatonOptions.PollInterval), 60, "Baton:Engine:PollInterval (60.00:00:00) must be above zero and at most 01:00:00")]
    [InlineData(nameof(BatonOptions.PruneInterval), 50, "Baton:Engine:PruneInterval (50.00:00:00) must be above zero and at most 7.00:00:00")]
    [InlineData(nameof(BatonOptions.DrainTimeout), 50, "Baton:Engine:DrainTimeout (50.00:00:00) must be from zero to 1.00:00:00 (a bare number is read as days")]
    [InlineData(nameof(BatonOptions.Retention), 10_675_199, "Baton:Engine:Retention (10675199.00:00:00) must be from zero (keeps every run) to 3650.00:00:00")]
    public void Validate_TimeSettingOfDaysOrPastTheTimersLimit_RefusedNamingHowItWasRead(string setting, int days, string expected)
    {
        var options = new BatonOptions();
        typeof(BatonOptions).GetProperty(setting)!.SetValue(options, TimeSpan.FromDays(days));

        var result = new BatonOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void HashedJitter_SameInputs_SameDrawInUnitRange()
    {
        var jitter = new HashedJitter();
        var draws = Enumerable.Range(1, 50).Select(a => jitter.Draw("run-1", "call", a)).ToList();

        Assert.Equal(draws, Enumerable.Range(1, 50).Select(a => new HashedJitter().Draw("run-1", "call", a)));
        Assert.All(draws, d => Assert.InRange(d, 0, 1 - double.Epsilon));
        Assert.True(draws.Distinct().Count() > 45);
        Assert.NotEqual(jitter.Draw("run-1", "call", 1), jitter.Draw("run-2", "call", 1));
        Assert.NotEqual(jitter.Draw("run-1", "call", 1), jitter.Draw("run-1", "other", 1));
    }

    /// <summary>
    /// Issue 14's test: 1,000 runs whose step fails and backs off for minutes (ten groups, 1 to 10 minutes) hold no
    /// worker slot and no lease while they wait, and each runs its next attempt exactly when it is due.
    /// </summary>
    [Fact]
    public async Task StepAsync_ThousandRunsBackingOffForMinutes_HoldNoSlotsNoLeasesAndRetryOnTime()
    {
        const int Runs = 1000;
        var calls = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("flaky", async (ctx, group, ct) =>
                await ctx.StepAsync("call", _ => calls.AddOrUpdate(ctx.RunId, 1, (_, n) => n + 1) < 2 ? throw new HttpRequestException("503") : Task.FromResult(group),
                    new StepOptions { Retry = TenMinutes with { BaseDelay = TimeSpan.FromMinutes(group) } }, cancellationToken: ct)),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);

        var ids = new List<(string Id, int Group)>();
        for (var i = 0; i < Runs; i++)
        {
            var group = 1 + (i % 10);
            ids.Add((await node.StartRunAsync("flaky", group), group));
        }

        foreach (var (id, _) in ids)
        {
            await node.WaitForAsync(id, r => Nudged(node, r.Status == RunStatus.Suspended));
        }

        var runs = await Task.WhenAll(ids.Select(r => node.Store.Runs.GetRunAsync(r.Id)));
        Assert.All(runs, r => Assert.Null(r!.LeaseOwner));
        Assert.All(ids.Zip(runs), p => Assert.Equal(Start.AddMinutes(p.First.Group), p.Second!.RunAfter));
        // A slot is freed just after its run's suspension is stored.
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.ActiveCount), n => n == 0, "every slot to be freed");

        foreach (var group in ids.GroupBy(r => r.Group).OrderBy(g => g.Key))
        {
            clock.SetUtcNow(Start.AddMinutes(group.Key));
            node.WakeWorker();
            foreach (var (id, _) in group)
            {
                await node.WaitForAsync(id, r => Nudged(node, r.Status.IsTerminal()));
            }
        }

        foreach (var (id, group) in ids)
        {
            var run = await node.Store.Runs.GetRunAsync(id);
            Assert.Equal(RunStatus.Succeeded, run!.Status);
            var second = Assert.Single(await node.Store.Steps.GetAttemptsAsync(id), a => a.Attempt == 2);
            Assert.Equal(Start.AddMinutes(group), second.StartedAt);
        }

        Assert.All(calls.Values, n => Assert.Equal(2, n));
    }

    [Fact]
    public async Task StepAsync_StoreErrorReadingTheAttemptsWhenResumedAtTheDueTime_RunResumesAgainAndSucceeds()
    {
        // Before (a review): the read of the step's attempts by the execution that resumed the suspended retry was the one
        // store call of the wait not guarded: its error reached the workflow's code and failed the run for good
        // (TimeoutException, no step named) although the step was only waiting for its second attempt.
        var calls = new Calls();
        var clock = new ExactClock(Start);
        var steps = new FailOnceStepStore();
        await using var node = await EngineHarness.StartAsync(
            b => FlakyWorkflow(b, TenMinutes, calls), o => o.DrainTimeout = TimeSpan.Zero, time: clock,
            configureServices: steps.InPlaceOfTheStepStore());
        var id = await node.StartRunAsync("flaky");
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended);
        steps.FailNextAttemptsRead();

        // The execution stops on the error with its lease left to expire; the next claim runs the second attempt.
        var (interrupted, run) = await steps.ResumeThroughTheFailedReadAsync(node, clock, id, Start.AddMinutes(10));

        Assert.NotEqual(RunStatus.Failed, interrupted.Status);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(2, calls.Count);
        Assert.Equal([1, 2], (await node.Store.Steps.GetAttemptsAsync(id)).Select(a => a.Attempt).Order());
    }

    /// <summary>Moves the clock to <paramref name="dueAt"/>: the run's second attempt starts then, and the run succeeds.</summary>
    private static async Task SecondAttemptSucceedsAtAsync(EngineHarness node, ExactClock clock, string id, DateTimeOffset dueAt, Calls calls)
    {
        clock.SetUtcNow(dueAt);
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(2, calls.Count);
        var attempts = (await node.Store.Steps.GetAttemptsAsync(id)).Where(a => a.StepKey == "call").OrderBy(a => a.Attempt).ToList();
        Assert.Equal([1, 2], attempts.Select(a => a.Attempt));
        Assert.Equal(dueAt, attempts[1].StartedAt);
    }

    /// <summary>
    /// The workflow <c>limited</c>: one step, <c>call</c>, whose first attempt is refused with "retry after 120 s" (the
    /// policy's own backoff is 10 s), awaited together with an event wait named <paramref name="alsoWaitsFor"/> if given.
    /// </summary>
    private static Task<EngineHarness> StartLimitedAsync(ExactClock clock, Calls calls, string? alsoWaitsFor)
    {
        var policy = new RetryPolicy { MaxAttempts = 3, BaseDelay = TimeSpan.FromSeconds(10), MaxDelay = TimeSpan.FromHours(1), JitterFactor = 0 };
        return EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("limited", async (ctx, _, ct) =>
            {
                var call = ctx.StepAsync("call", _ => Interlocked.Increment(ref calls.Count) < 2
                    ? throw new RetryAfterException("429 Too Many Requests", TimeSpan.FromSeconds(120))
                    : Task.FromResult(calls.Count), new StepOptions { Retry = policy }, cancellationToken: ct);
                if (alsoWaitsFor is not null)
                {
                    await ctx.WaitForEventAsync<string>(alsoWaitsFor, cancellationToken: ct);
                }

                return await call;
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock);
    }

    private static Task<EngineHarness> StartFlakyAsync(RetryPolicy policy, ExactClock clock, Calls calls) =>
        EngineHarness.StartAsync(b => FlakyWorkflow(b, policy, calls), o => o.DrainTimeout = TimeSpan.Zero, time: clock);

    /// <summary>The workflow <c>flaky</c>: one step, <c>call</c>, whose first attempt fails with a retryable error.</summary>
    private static void FlakyWorkflow(BatonBuilder builder, RetryPolicy policy, Calls calls) =>
        builder.AddWorkflow<int, int>("flaky", async (ctx, _, ct) =>
            await ctx.StepAsync("call", _ => FailOnce(calls), new StepOptions { Retry = policy }, cancellationToken: ct));

    private static Task<int> FailOnce(Calls calls) =>
        Interlocked.Increment(ref calls.Count) < 2 ? throw new HttpRequestException("503") : Task.FromResult(calls.Count);

    /// <summary>Wakes the claim loop while <paramref name="done"/> is false: the fake clock fires no poll by itself.</summary>
    private static bool Nudged(EngineHarness node, bool done)
    {
        if (!done)
        {
            node.WakeWorker();
        }

        return done;
    }

    private sealed class Calls
    {
        public int Count;
    }
}
