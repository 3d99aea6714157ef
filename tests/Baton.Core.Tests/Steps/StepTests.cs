using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Baton.Core.Tests.Support;
using Baton.Hosting;
using Baton.Retries;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;

namespace Baton.Core.Tests.Steps;

public sealed class StepTests
{
    private static readonly DateTimeOffset Start = EngineHarness.Start;

    // These tests time backoffs waited in memory; long backoffs that suspend the run are in Retries/DurableRetryTests.
    private static void InMemoryBackoffs(BatonOptions o) => o.RetrySuspendThreshold = TimeSpan.FromHours(1);

    [Fact]
    public async Task StepAsync_TwoSteps_StoresResultsAttemptsAndOutput()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("sum", async (ctx, x, ct) =>
        {
            var a = await ctx.StepAsync("double", _ => Task.FromResult(x * 2), cancellationToken: ct);
            var b = await ctx.StepAsync("add", _ => Task.FromResult(a + 1), cancellationToken: ct);
            return b;
        }));

        var id = await node.StartRunAsync("sum", 20);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("41", run.Output);
        var steps = await node.Store.Steps.GetStepsAsync(id);
        Assert.Equal(["add", "double"], steps.Select(s => s.Key).Order());
        Assert.All(steps, s => Assert.Equal(StepStatus.Succeeded, s.Status));
        Assert.Equal("40", steps.Single(s => s.Key == "double").Result);
        var attempts = await node.Store.Steps.GetAttemptsAsync(id);
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal(AttemptOutcome.Succeeded, a.Outcome));
    }

    [Fact]
    public async Task StepAsync_SameNameTwice_GetsNumberedKeys()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("twice", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("ping", _ => Task.FromResult(1), cancellationToken: ct);
            await ctx.StepAsync("ping", _ => Task.FromResult(2), cancellationToken: ct);
            return 0;
        }));

        var id = await node.StartRunAsync("twice");
        await node.WaitForEndAsync(id);

        var steps = await node.Store.Steps.GetStepsAsync(id);
        Assert.Equal(["ping", "ping#2"], steps.Select(s => s.Key).Order());
    }

    [Fact]
    public async Task StepAsync_NamesInterleaved_NumberedPerName()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("interleaved", async (ctx, _, ct) =>
        {
            foreach (var name in new[] { "a", "b", "a", "c", "b", "a" })
            {
                await ctx.StepAsync(name, _ => Task.FromResult(1), cancellationToken: ct);
            }

            return 0;
        }));

        var id = await node.StartRunAsync("interleaved");
        await node.WaitForEndAsync(id);

        var steps = await node.Store.Steps.GetStepsAsync(id);
        Assert.Equal(["a", "a#2", "a#3", "b", "b#2", "c"], steps.Select(s => s.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task StepAsync_TransientFailures_RetriedWithExponentialBackoff()
    {
        var calls = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("flaky", async (ctx, _, ct) =>
            await ctx.StepAsync("call", _ => ++calls < 3 ? throw new HttpRequestException("503") : Task.FromResult(calls), cancellationToken: ct)), InMemoryBackoffs);

        var id = await node.StartRunAsync("flaky");
        // Default policy, jitter fixed at 0: the second attempt 5 s after the first failure, the third 10 s after the second.
        await node.Time.AdvanceToTimerAsync(Start.AddSeconds(5), TimerKind.Delay);
        await node.Time.AdvanceToTimerAsync(Start.AddSeconds(15), TimerKind.Delay);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        var attempts = (await node.Store.Steps.GetAttemptsAsync(id)).OrderBy(a => a.Attempt).ToList();
        Assert.Equal([AttemptOutcome.Failed, AttemptOutcome.Failed, AttemptOutcome.Succeeded], attempts.Select(a => a.Outcome));
        Assert.Equal(TimeSpan.FromSeconds(5), attempts[1].StartedAt - attempts[0].EndedAt!.Value);
        Assert.Equal(TimeSpan.FromSeconds(10), attempts[2].StartedAt - attempts[1].EndedAt!.Value);
        Assert.Equal("503", attempts[0].ErrorMessage);
        Assert.Equal(typeof(HttpRequestException).FullName, attempts[0].ErrorType);
    }

    [Fact]
    public async Task StepAsync_NameHoldsHash_RunFailsNamingItAndNoBodyTakesAnotherStepsResult()
    {
        // Before: "charge#2" was the key of the second "charge" call too; that call returned charge#2's result unrun.
        var secondCharge = false;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("keys", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("charge", _ => Task.FromResult("first"), cancellationToken: ct);
            await ctx.StepAsync("charge#2", _ => Task.FromResult("explicit"), cancellationToken: ct);
            return await ctx.StepAsync("charge", _ =>
            {
                secondCharge = true;
                return Task.FromResult("second");
            }, cancellationToken: ct);
        }));

        var id = await node.StartRunAsync("keys");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("a step name cannot hold '#' ('charge#2')", run.Failure!.Message);
        Assert.False(secondCharge);
        Assert.Equal(["charge"], (await node.Store.Steps.GetStepsAsync(id)).Select(s => s.Key));
    }

    [Fact]
    public async Task StepAsync_StoredResultTheNewTypeCannotRead_RunFailsNamingTheStep()
    {
        // A deploy that changed a step's result type (string -> int) under runs in flight. Before: the serializer's
        // message alone ("The JSON value could not be converted to System.Int32"), with no step named.
        var deployed = new StrongBox<bool>();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("typed", async (ctx, _, ct) =>
        {
            var a = deployed.Value
                ? await ctx.StepAsync("a", _ => Task.FromResult(1), cancellationToken: ct)
                : (await ctx.StepAsync("a", _ => Task.FromResult("x"), cancellationToken: ct)).Length;
            await ctx.WaitForEventAsync<int>("go", cancellationToken: ct);
            return a;
        }));
        var id = await node.StartRunAsync("typed");
        await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);

        deployed.Value = true;
        await node.Client.SendEventAsync(id, "go", System.Text.Json.JsonSerializer.SerializeToElement(1));
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("a", run.Failure!.Step);
        Assert.Contains("the stored result of step 'a' cannot be read as Int32", run.Failure.Message);
    }

    [Fact]
    public async Task StepAsync_NameHoldsNul_RunFailsWithClearErrorOnEveryStore()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("nul", async (ctx, _, ct) =>
            await ctx.StepAsync("fetch\0", _ => Task.FromResult(1), cancellationToken: ct)));

        var id = await node.StartRunAsync("nul");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("a step name cannot hold the character U+0000", run.Failure!.Message);
        Assert.Empty(await node.Store.Steps.GetStepsAsync(id));
    }

    [Fact]
    public async Task StepAsync_NameHoldingHalfASurrogatePair_RunFailsWithClearErrorAndNoStepStored()
    {
        // Not text: PostgreSQL's driver threw EncoderFallbackException at the step's write; SQLite stored the step.
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("half", async (ctx, _, ct) =>
            await ctx.StepAsync("fetch\ud800", _ => Task.FromResult(1), cancellationToken: ct)));

        var id = await node.StartRunAsync("half");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("a step name cannot hold half a surrogate pair", run.Failure!.Message);
        Assert.Empty(await node.Store.Steps.GetStepsAsync(id));
    }

    [Fact]
    public async Task StepAsync_FailureMessageHoldsNul_StoredWithReplacementCharacter()
    {
        // PostgreSQL text and jsonb cannot hold U+0000: the engine replaces it wherever it stores what user code gave
        // it, so the failure is stored on every store, the same way (Baton.Storage.Postgres.Tests has the same run).
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("nul", async (ctx, _, ct) =>
        {
            ctx.SetPhase("phase\0one");
            ctx.IncrementProgress("lines\0read");
            ctx.ReportError("bad\0line", "step\0key");
            return await ctx.StepAsync<int>("call", _ => throw new InvalidOperationException("bad\0byte"),
                new StepOptions { Retry = new RetryPolicy { MaxAttempts = 1 } }, cancellationToken: ct);
        }));

        var id = await node.StartRunAsync("nul");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("bad\uFFFDbyte", run.Failure!.Message);
        Assert.Equal("bad\uFFFDbyte", Assert.Single(await node.Store.Steps.GetAttemptsAsync(id)).ErrorMessage);
        Assert.Equal("bad\uFFFDbyte", Assert.Single(await node.Store.Steps.GetStepsAsync(id)).Error);
        Assert.Equal("phase\uFFFDone", run.Phase);
        Assert.Equal(1, run.Progress["lines\uFFFDread"]);
        var error = Assert.Single(run.Errors);
        Assert.Equal(("bad\uFFFDline", "step\uFFFDkey"), (error.Message, error.Step));
    }

    [Fact]
    public async Task StepAsync_AttemptsExhausted_RunFailsNamingStep()
    {
        var calls = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("down", async (ctx, _, ct) =>
            await ctx.StepAsync<int>("call", _ => { calls++; throw new HttpRequestException("connection refused"); },
                new StepOptions { Retry = new RetryPolicy { MaxAttempts = 3, BaseDelay = TimeSpan.FromSeconds(2) } }, cancellationToken: ct)), InMemoryBackoffs);

        var id = await node.StartRunAsync("down");
        // Base 2 s, doubling: the second attempt 2 s after the first, the third 4 s after that.
        await node.Time.AdvanceToTimerAsync(Start.AddSeconds(2), TimerKind.Delay);
        await node.Time.AdvanceToTimerAsync(Start.AddSeconds(6), TimerKind.Delay);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(3, calls);
        Assert.Equal("call", run.Failure!.Step);
        Assert.Equal("connection refused", run.Failure.Message);
        Assert.Null(run.Failure.SagaState);
        var step = Assert.Single(await node.Store.Steps.GetStepsAsync(id));
        Assert.Equal(StepStatus.Failed, step.Status);
        Assert.Equal(3, step.Attempts);
    }

    [Fact]
    public async Task StepAsync_NonRetryableError_FailsAfterOneAttempt()
    {
        var calls = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("bad", async (ctx, _, ct) =>
            await ctx.StepAsync<int>("call", _ => { calls++; throw new NonRetryableException("400 Bad Request"); }, cancellationToken: ct)));

        var id = await node.StartRunAsync("bad");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(1, calls);
        Assert.Equal(typeof(NonRetryableException).FullName, run.Failure!.ErrorType);
    }

    [Fact]
    public async Task StepAsync_AttemptTimeout_CancelsTheAttemptToken()
    {
        var cancelledAttempts = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("slow", async (ctx, _, ct) =>
            await ctx.StepAsync("hang", async attemptToken =>
            {
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, attemptToken);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelledAttempts);
                    throw;
                }

                return 1;
            }, new StepOptions { Timeout = TimeSpan.FromSeconds(10), Retry = new RetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.FromSeconds(1) } }, cancellationToken: ct)), InMemoryBackoffs);

        var id = await node.StartRunAsync("slow");
        // The first attempt times out at 10 s, the retry starts 1 s later and times out 10 s after that.
        await node.Time.AdvanceToTimerAsync(Start.AddSeconds(10), TimerKind.Timeout);
        await node.Time.AdvanceToTimerAsync(Start.AddSeconds(11), TimerKind.Delay);
        await node.Time.AdvanceToTimerAsync(Start.AddSeconds(21), TimerKind.Timeout);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(2, cancelledAttempts);
        Assert.Contains("timed out after 10 s", run.Failure!.Message);
        var attempts = await node.Store.Steps.GetAttemptsAsync(id);
        Assert.All(attempts, a => Assert.Equal(AttemptOutcome.TimedOut, a.Outcome));
        Assert.All(attempts, a => Assert.Equal(TimeSpan.FromSeconds(10), a.EndedAt!.Value - a.StartedAt));
    }

    [Fact]
    public async Task CancelRunAsync_RunningStep_ReachesItsToken()
    {
        var started = new TaskCompletionSource();
        var sawCancel = false;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("wait", async (ctx, _, ct) =>
            await ctx.StepAsync("block", async token =>
            {
                started.SetResult();
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }
                catch (OperationCanceledException)
                {
                    sawCancel = true;
                    throw;
                }

                return 1;
            }, cancellationToken: ct)));

        var id = await node.StartRunAsync("wait");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var cancel = await node.Client.CancelRunAsync(id);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(CancelRunOutcome.Requested, cancel.Outcome);
        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.True(sawCancel);
        Assert.Equal("cancelled by request", run.Failure!.Message);
        var attempt = Assert.Single(await node.Store.Steps.GetAttemptsAsync(id));
        Assert.Equal(AttemptOutcome.Cancelled, attempt.Outcome);
        // The step cut off ends with its run, not "running" under a cancelled run.
        var step = Assert.Single(await node.Store.Steps.GetStepsAsync(id));
        Assert.Equal(StepStatus.Failed, step.Status);
        Assert.NotNull(step.CompletedAt);
    }

    [Fact]
    public async Task CancelRunAsync_StepGivenNoToken_ReachesTheStepsToken()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawCancel = new StrongBox<bool>();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("untokened", async (ctx, _, _) =>
            await ctx.StepAsync("block", BlockUntilCancelled(started, sawCancel), cancellationToken: CancellationToken.None)));

        var id = await node.StartRunAsync("untokened");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await node.Client.CancelRunAsync(id);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.True(sawCancel.Value);
        Assert.Equal(AttemptOutcome.Cancelled, Assert.Single(await node.Store.Steps.GetAttemptsAsync(id)).Outcome);
    }

    [Fact]
    public async Task StepAsync_WorkflowsOwnTokenCancelled_CancelsTheStep()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var own = new CancellationTokenSource();
        var sawCancel = new StrongBox<bool>();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("own", async (ctx, _, _) =>
            await ctx.StepAsync("block", BlockUntilCancelled(started, sawCancel), cancellationToken: own.Token)));

        var id = await node.StartRunAsync("own");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await own.CancelAsync();
        var run = await node.WaitForEndAsync(id);

        // Not a cancel request of the run: the workflow's own cancellation ends it as its own error.
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.True(sawCancel.Value);
        Assert.Equal(AttemptOutcome.Cancelled, Assert.Single(await node.Store.Steps.GetAttemptsAsync(id)).Outcome);
    }

    [Fact]
    public async Task RunTimeout_Passed_CancelsStepAndFailsRun()
    {
        var sawCancel = false;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("bounded", async (ctx, _, ct) =>
            await ctx.StepAsync("block", async token =>
            {
                started.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }
                catch (OperationCanceledException)
                {
                    sawCancel = true;
                    throw;
                }

                return 1;
            }, cancellationToken: ct), o => o.RunTimeout = TimeSpan.FromMinutes(1)),
            // A lease longer than the run's limit: the clock jumps the minute at once, with no heartbeat stored on the way.
            o => o.LeaseDuration = TimeSpan.FromMinutes(5));

        var id = await node.StartRunAsync("bounded");
        // The deadline is armed before the workflow runs: wait until the step is in flight, so the deadline cancels it.
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await node.Time.AdvanceToTimerAsync(Start.AddMinutes(1), TimerKind.Timeout);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.True(sawCancel);
        Assert.Equal("run timed out: its deadline 2026-01-01T00:01:00.000Z passed, 60 s after the run was created", run.Failure!.Message);
        var step = Assert.Single(await node.Store.Steps.GetStepsAsync(id));
        Assert.Equal(StepStatus.Failed, step.Status);
        Assert.Equal(Start.AddMinutes(1), step.CompletedAt);
        Assert.Equal(AttemptOutcome.Cancelled, Assert.Single(await node.Store.Steps.GetAttemptsAsync(id)).Outcome);
    }

    [Fact]
    public async Task RunTimeout_DelayedStart_CountsFromTheTimeTheStartAskedFor()
    {
        // README: RunTimeout counts from the run's creation, or from the time a delayed start asked for (a run started
        // for an hour from now with a 1-minute limit is not failed before it begins).
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("later", async (ctx, _, ct) =>
            await ctx.StepAsync("one", _ => Task.FromResult(1), cancellationToken: ct), o => o.RunTimeout = TimeSpan.FromMinutes(1)));

        var result = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "later", RunAfter = Start.AddHours(1) });

        var stored = await node.Store.Runs.GetRunAsync(result.Run!.Id);
        Assert.Equal(Start, stored!.CreatedAt);
        Assert.Equal(Start.AddHours(1).AddMinutes(1), stored.DeadlineAt);
    }

    [Fact]
    public async Task RunTimeout_RunSuspendedWaitingForAnEventWithNoTimeout_WakesAtTheDeadlineAndFails()
    {
        // Before: the suspended run's wake-up was the event wait's (never), so it outlived its RunTimeout for ever.
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("bounded-wait", async (ctx, _, ct) =>
            await ctx.WaitForEventAsync<int>("approved", cancellationToken: ct), o => o.RunTimeout = TimeSpan.FromMinutes(5)));

        var id = await node.StartRunAsync("bounded-wait");
        var waiting = await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        node.Time.SetUtcNow(Start.AddMinutes(5));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(Start.AddMinutes(5), waiting.RunAfter);
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("run timed out: its deadline 2026-01-01T00:05:00.000Z passed, 300 s after the run was created", run.Failure!.Message);
    }

    [Fact]
    public async Task RetryRunAsync_FailedRun_ResumesAtFailedStep()
    {
        var firstCalls = 0;
        var failSecond = true;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("two", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("first", _ => Task.FromResult(++firstCalls), cancellationToken: ct);
            return await ctx.StepAsync("second", _ => failSecond ? throw new NonRetryableException("not yet") : Task.FromResult("ok"), cancellationToken: ct);
        }));

        var id = await node.StartRunAsync("two");
        Assert.Equal(RunStatus.Failed, (await node.WaitForEndAsync(id)).Status);
        failSecond = false;
        var retry = await node.Client.RetryRunAsync(id);
        var run = await node.WaitForAsync(id, r => r.Status == RunStatus.Succeeded);

        Assert.Equal(RetryRunOutcome.Retried, retry.Outcome);
        Assert.Equal(1, firstCalls);
        Assert.Equal("\"ok\"", run.Output);
        Assert.Null(run.Failure);
        var second = (await node.Store.Steps.GetStepsAsync(id)).Single(s => s.Key == "second");
        Assert.Equal(2, second.Attempts);
    }

    [Fact]
    public async Task Progress_PhaseCountersErrors_ReadableAfterRun()
    {
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("progress", (ctx, _, _) =>
            {
                ctx.SetPhase("fetching");
                ctx.IncrementProgress("records", 5);
                ctx.IncrementProgress("records", 7);
                ctx.SetProgress("chunks", 3);
                for (var i = 0; i < 5; i++)
                {
                    ctx.ReportError($"bad line {i}");
                }

                ctx.SetPhase("done");
                return Task.FromResult(0);
            }),
            o => o.MaxErrors = 3);

        var id = await node.StartRunAsync("progress");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal("done", run.Phase);
        Assert.Equal(12, run.Progress["records"]);
        Assert.Equal(3, run.Progress["chunks"]);
        Assert.Equal(["bad line 2", "bad line 3", "bad line 4"], run.Errors.Select(e => e.Message));
    }

    [Fact]
    public async Task Progress_WhileRunning_IsFlushedToStore()
    {
        var gate = new TaskCompletionSource();
        var inStep = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("live", async (ctx, _, ct) =>
        {
            ctx.SetPhase("processing");
            ctx.IncrementProgress("done", 42);
            await ctx.StepAsync("wait", async _ => { inStep.TrySetResult(); await gate.Task; return 1; }, cancellationToken: ct);
            return 0;
        }));

        var id = await node.StartRunAsync("live");
        // Once the step runs, the phase and counter are set; the next flush tick writes them.
        await inStep.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await node.Time.AdvanceToTimerAsync(Start.AddSeconds(1), TimerKind.Periodic);
        var live = await node.WaitForAsync(id, r => r.Phase == "processing");
        gate.SetResult();
        await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Running, live.Status);
        Assert.Equal(42, live.Progress["done"]);
    }

    [Fact]
    public async Task StartRunAsync_InputOfWrongShape_InvalidInputAndNothingStored()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("typed", (_, x, _) => Task.FromResult(x)));

        var result = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "typed", Input = JsonDocument.Parse("\"text\"").RootElement });
        var unknown = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "nope" });

        Assert.Equal(StartRunOutcome.InvalidInput, result.Outcome);
        Assert.Contains("Int32", result.Error);
        Assert.Equal(StartRunOutcome.UnknownWorkflow, unknown.Outcome);
        Assert.Empty((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    /// <summary>A step's body that says it started, then waits on its token until cancelled and notes the cancellation.</summary>
    private static Func<CancellationToken, Task<int>> BlockUntilCancelled(TaskCompletionSource started, StrongBox<bool> sawCancel) => async token =>
    {
        started.TrySetResult();
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
        }
        catch (OperationCanceledException)
        {
            sawCancel.Value = true;
            throw;
        }

        return 1;
    };
}
