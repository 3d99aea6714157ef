using System.Collections.Concurrent;
using Baton.Core.Tests.Support;
using Baton.Retries;
using Baton.Runs;
using Baton.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Compensation;

public sealed class CompensationTests
{
    [Fact]
    public async Task Compensation_LaterStepFails_RunsInReverseOrderAndEndsCompensated()
    {
        var undone = new ConcurrentQueue<string>();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
        {
            foreach (var name in new[] { "createAccount", "createProfile", "assignPermissions" })
            {
                await ctx.StepAsync(name, _ => Task.FromResult(name), compensate: (result, _) => { undone.Enqueue(result); return Task.CompletedTask; }, cancellationToken: ct);
            }

            await ctx.StepAsync<int>("notify", _ => throw new NonRetryableException("validation failed: account.email already exists"), cancellationToken: ct);
            return 0;
        }));

        var id = await node.StartRunAsync("saga");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Equal(["assignPermissions", "createProfile", "createAccount"], undone);
        Assert.Equal("notify", run.Failure!.Step);
        Assert.Equal("compensated", run.Failure.SagaState);
        Assert.Equal("validation failed: account.email already exists", run.Failure.Message);
        var compensations = (await node.Store.Steps.GetStepsAsync(id)).Where(s => s.Kind == StepKind.Compensation).ToList();
        Assert.Equal(3, compensations.Count);
        Assert.All(compensations, s => Assert.Equal(StepStatus.Succeeded, s.Status));
    }

    [Fact]
    public async Task Compensation_ItFails_EndsCompensationFailedNamingStep()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("createAccount", _ => Task.FromResult(1), compensate: (_, _) => throw new NonRetryableException("accounts-service down"), cancellationToken: ct);
            await ctx.StepAsync<int>("createProfile", _ => throw new NonRetryableException("profile rejected"), cancellationToken: ct);
            return 0;
        }));

        var id = await node.StartRunAsync("saga");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.CompensationFailed, run.Status);
        Assert.Equal("createProfile", run.Failure!.Step);
        Assert.Equal("compensation_failed", run.Failure.SagaState);
        Assert.Equal("createAccount", run.Failure.CompensationStep);
        Assert.Equal("accounts-service down", run.Failure.CompensationError);
    }

    [Fact]
    public async Task RetryRunAsync_CompensationFailed_CompensatesAndKeepsTheOriginalFailure()
    {
        // Before: the retry cleared the failure, and the run ended "compensated" with "cancelled by request" and no step.
        var undoTries = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
        {
            await ctx.StepAsync(
                "createAccount",
                _ => Task.FromResult(1),
                compensate: (_, _) => Interlocked.Increment(ref undoTries) == 1 ? throw new NonRetryableException("accounts-service down") : Task.CompletedTask,
                cancellationToken: ct);
            await ctx.StepAsync<int>("createProfile", _ => throw new NonRetryableException("profile rejected"), cancellationToken: ct);
            return 0;
        }));
        var id = await node.StartRunAsync("saga");
        var failed = await node.WaitForEndAsync(id);

        await node.Client.RetryRunAsync(id);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.CompensationFailed, failed.Status);
        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Equal("profile rejected", run.Failure!.Message);
        Assert.Equal(typeof(NonRetryableException).FullName, run.Failure.ErrorType);
        Assert.Equal("createProfile", run.Failure.Step);
        Assert.Equal("compensated", run.Failure.SagaState);
        Assert.Null(run.Failure.CompensationStep);
        Assert.Null(run.Failure.CompensationError);
        Assert.Equal(2, undoTries);
    }

    [Fact]
    public async Task Compensation_CancelRequested_CompensatesAndEndsCancelled()
    {
        var undone = new ConcurrentQueue<string>();
        var blocked = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("reserve", _ => Task.FromResult(1), compensate: (_, _) => { undone.Enqueue("reserve"); return Task.CompletedTask; }, cancellationToken: ct);
            await ctx.StepAsync("wait", async token => { blocked.SetResult(); await Task.Delay(Timeout.InfiniteTimeSpan, token); return 1; }, cancellationToken: ct);
            return 0;
        }));

        var id = await node.StartRunAsync("saga");
        await blocked.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await node.Client.CancelRunAsync(id);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.Equal(["reserve"], undone);
        Assert.Equal("compensated", run.Failure!.SagaState);
    }

    [Fact]
    public async Task Compensation_InterruptedMidway_ResumesOnNextNodeWithoutRepeatingDoneOnes()
    {
        var path = EngineHarness.NewDatabasePath();
        var undone = new ConcurrentQueue<string>();
        var blockOnB = true;
        var reachedB = new TaskCompletionSource();

        void Workflow(Baton.Hosting.BatonBuilder b) => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("a", _ => Task.FromResult(1), compensate: (_, _) => { undone.Enqueue("a"); return Task.CompletedTask; }, cancellationToken: ct);
            await ctx.StepAsync("b", _ => Task.FromResult(1), compensate: async (_, token) =>
            {
                if (blockOnB)
                {
                    reachedB.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }

                undone.Enqueue("b");
            }, cancellationToken: ct);
            await ctx.StepAsync("c", _ => Task.FromResult(1), compensate: (_, _) => { undone.Enqueue("c"); return Task.CompletedTask; }, cancellationToken: ct);
            await ctx.StepAsync<int>("d", _ => throw new NonRetryableException("boom"), cancellationToken: ct);
            return 0;
        });

        string id;
        await using (var first = await EngineHarness.StartAsync(Workflow, o => o.DrainTimeout = TimeSpan.Zero, databasePath: path))
        {
            id = await first.StartRunAsync("saga");
            await reachedB.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await first.StopAsync();
            var interrupted = await first.Store.Runs.GetRunAsync(id);
            Assert.Equal(RunStatus.Compensating, interrupted!.Status);
            Assert.Null(interrupted.LeaseOwner);
        }

        blockOnB = false;
        await using (var second = await EngineHarness.StartAsync(Workflow, o => o.NodeId = "node-b", databasePath: path))
        {
            var run = await second.WaitForEndAsync(id);
            Assert.Equal(RunStatus.Compensated, run.Status);
            Assert.Equal("d", run.Failure!.Step);
        }

        // c was compensated before the interruption and is not compensated again.
        Assert.Equal(["c", "b", "a"], undone);
        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task Compensation_OfAFailedRunCancelledMidwayAndResumedElsewhere_EndsCompensatedAsOnOneNode()
    {
        // The cancel of a compensating run is recorded (202) and changes nothing: the compensations go on to their end.
        // Before: on the node that compensated it the run ended compensated, but resumed on another node it ended cancelled,
        // as if the request had cancelled it.
        var path = EngineHarness.NewDatabasePath();
        var undone = new ConcurrentQueue<string>();
        var block = true;
        var reached = new TaskCompletionSource();

        void Workflow(Baton.Hosting.BatonBuilder b) => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("a", _ => Task.FromResult(1), compensate: async (_, token) =>
            {
                if (block)
                {
                    reached.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, token);
                }

                undone.Enqueue("a");
            }, cancellationToken: ct);
            await ctx.StepAsync<int>("b", _ => throw new NonRetryableException("boom"), cancellationToken: ct);
            return 0;
        });

        string id;
        await using (var first = await EngineHarness.StartAsync(Workflow, o => o.DrainTimeout = TimeSpan.Zero, databasePath: path))
        {
            id = await first.StartRunAsync("saga");
            await reached.Task.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(CancelRunOutcome.Requested, (await first.Client.CancelRunAsync(id)).Outcome);
            await first.StopAsync();
            Assert.Equal(RunStatus.Compensating, (await first.Store.Runs.GetRunAsync(id))!.Status);
        }

        block = false;
        await using (var second = await EngineHarness.StartAsync(Workflow, o => o.NodeId = "node-b", databasePath: path))
        {
            var run = await second.WaitForEndAsync(id);
            Assert.Equal((RunStatus.Compensated, "boom", "b"), (run.Status, run.Failure!.Message, run.Failure.Step));
        }

        Assert.Equal(["a"], undone);
        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task StepAsync_NamedLikeACompensationKey_IsRefusedAndTheRealCompensationRuns()
    {
        // Before (a review): "compensate:reserve" was accepted, then taken for the compensation of "reserve", which never ran.
        var undone = new ConcurrentQueue<string>();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("reserve", _ => Task.FromResult(1), compensate: (_, _) => { undone.Enqueue("reserve"); return Task.CompletedTask; }, cancellationToken: ct);
            await ctx.StepAsync("compensate:reserve", _ => Task.FromResult("audit"), cancellationToken: ct);
            return 0;
        }));

        var run = await node.WaitForEndAsync(await node.StartRunAsync("saga"));

        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Contains("a step name cannot begin with 'compensate:' ('compensate:reserve')", run.Failure!.Message, StringComparison.Ordinal);
        Assert.Equal(["reserve"], undone);
        Assert.Equal(StepKeys.ReservedPrefixes.Select(p => p + "x").Select(StepKeys.ReservedNameProblem).Count(e => e is not null), StepKeys.ReservedPrefixes.Count);
        Assert.Null(StepKeys.ReservedNameProblem("events:x"));
    }

    [Fact]
    public async Task Compensation_StepStillRunningWhenAParallelStepFails_IsStoppedFirstAndNotLeftRunning()
    {
        // Before (a review): the run took its compensations and ended while "createAccount" still ran; it then committed,
        // and its compensation, registered after the run had ended, never ran.
        var undone = new ConcurrentQueue<string>();
        var slowStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var committed = false;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("parallel", async (ctx, _, ct) =>
        {
            var slow = ctx.StepAsync("createAccount", async token =>
            {
                slowStarted.TrySetResult();
                await Task.Delay(Timeout.InfiniteTimeSpan, token);
                Volatile.Write(ref committed, true);
                return 1;
            }, compensate: (_, _) => { undone.Enqueue("createAccount"); return Task.CompletedTask; }, cancellationToken: ct);
            var fast = ctx.StepAsync<int>("validate", async _ =>
            {
                await slowStarted.Task;
                throw new NonRetryableException("email already taken");
            }, cancellationToken: ct);
            await fast;
            await slow;
            return 0;
        }));

        var id = await node.StartRunAsync("parallel");
        var run = await node.WaitForEndAsync(id);
        var steps = (await node.Store.Steps.GetStepsAsync(id)).ToDictionary(s => s.Key);
        var attempts = await node.Store.Steps.GetAttemptsAsync(id);

        Assert.Equal((RunStatus.Failed, "validate"), (run.Status, run.Failure!.Step));
        Assert.False(Volatile.Read(ref committed));
        Assert.Empty(undone);
        Assert.Equal(StepStatus.Failed, steps["createAccount"].Status);
        Assert.Equal(AttemptOutcome.Cancelled, Assert.Single(attempts, a => a.StepKey == "createAccount").Outcome);
    }

    [Fact]
    public async Task Compensation_StepThatCompletesAfterAParallelStepFailed_IsCompensatedBeforeTheRunEnds()
    {
        // A step that does not stop when asked completes; the run waits for it and undoes it with the others.
        var undone = new ConcurrentQueue<string>();
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("parallel", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("reserve", _ => Task.FromResult(1), compensate: (_, _) => { undone.Enqueue("reserve"); return Task.CompletedTask; }, cancellationToken: ct);
            var slow = ctx.StepAsync("createAccount", async _ =>
            {
                await failed.Task;
                return 1;
            }, compensate: (_, _) => { undone.Enqueue("createAccount"); return Task.CompletedTask; }, cancellationToken: ct);
            var fast = ctx.StepAsync<int>("validate", _ =>
            {
                failed.TrySetResult();
                throw new NonRetryableException("email already taken");
            }, cancellationToken: ct);
            await fast;
            await slow;
            return 0;
        }));

        var run = await node.WaitForEndAsync(await node.StartRunAsync("parallel"));

        Assert.Equal((RunStatus.Compensated, "email already taken"), (run.Status, run.Failure!.Message));
        Assert.Equal(["createAccount", "reserve"], undone);
    }

    [Fact]
    public async Task RetryRunAsync_CompensationFailedAfterParallelSteps_KeepsTheFirstExecutionsOrder()
    {
        // "newer" is called first and ends a second after "older": undone in reverse order of the calls, "older" first, in the
        // first execution and in the retry's replay alike. Before (a review): the first execution undid "newer" first (the
        // order the steps ended in) and the replay "older" first (the order of the code).
        var undone = new ConcurrentQueue<string>();
        var newerUndoTries = 0;
        var clock = new ExactClock(EngineHarness.Start);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
            {
                var olderDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var newer = ctx.StepAsync("newer", async _ =>
                {
                    await olderDone.Task;
                    clock.Advance(TimeSpan.FromSeconds(1));
                    return "newer";
                }, compensate: (_, _) =>
                {
                    undone.Enqueue("newer");
                    return Interlocked.Increment(ref newerUndoTries) == 1 ? throw new NonRetryableException("undo of newer failed") : Task.CompletedTask;
                }, cancellationToken: ct);
                var older = ctx.StepAsync("older", _ => Task.FromResult("older"), compensate: (_, _) => { undone.Enqueue("older"); return Task.CompletedTask; }, cancellationToken: ct);
                await older;
                olderDone.SetResult();
                await newer;
                await ctx.StepAsync<int>("fail", _ => throw new NonRetryableException("boom"), cancellationToken: ct);
                return 0;
            }),
            time: clock);

        var id = await node.StartRunAsync("saga");
        var first = await node.WaitForEndAsync(id);
        var undoneFirst = undone.ToArray();
        await node.Client.RetryRunAsync(id);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal((RunStatus.CompensationFailed, "newer"), (first.Status, first.Failure!.CompensationStep));
        Assert.Equal(["older", "newer"], undoneFirst);
        Assert.Equal(RunStatus.Compensated, run.Status);
        Assert.Equal(["older", "newer", "newer"], undone);
    }

    [Fact]
    public async Task RunTimeout_RunSuspendedOnATimerLongerThanIt_FailsAtTheDeadlineAndCompensates()
    {
        // Before (a review): woken at its deadline, the replayed timer suspended the run again, due at once, execution after
        // execution; it never failed with its timeout and never compensated.
        var undone = new ConcurrentQueue<string>();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("bounded-timer", async (ctx, _, ct) =>
            {
                await ctx.StepAsync("reserve", _ => Task.FromResult(1), compensate: (_, _) => { undone.Enqueue("reserve"); return Task.CompletedTask; }, cancellationToken: ct);
                await ctx.DelayAsync("cool-off", TimeSpan.FromHours(1), CancellationToken.None);
                return 0;
            }, o => o.RunTimeout = TimeSpan.FromMinutes(5)));

        var id = await node.StartRunAsync("bounded-timer");
        var waiting = await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        node.Time.SetUtcNow(EngineHarness.Start.AddMinutes(5));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(EngineHarness.Start.AddMinutes(5), waiting.RunAfter);
        Assert.Equal((RunStatus.Compensated, 2), (run.Status, run.Executions));
        Assert.Equal("run timed out: its deadline 2026-01-01T00:05:00.000Z passed, 300 s after the run was created", run.Failure!.Message);
        Assert.Equal(["reserve"], undone);
    }

    [Fact]
    public async Task Compensation_ClockStepsBackBetweenTwoSequentialSteps_StillUndoesTheLaterStepFirst()
    {
        var undone = new ConcurrentQueue<string>();
        var skewed = new SkewedClock(new ExactClock(EngineHarness.Start));
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("saga", async (ctx, _, ct) =>
            {
                await ctx.StepAsync("create-order", _ => Task.FromResult(1), compensate: (_, _) => { undone.Enqueue("cancel-order"); return Task.CompletedTask; }, cancellationToken: ct);
                await ctx.StepAsync("reserve-stock", _ =>
                {
                    // NTP steps the clock back by 2 ms (or the run moved to a node whose clock is 2 ms behind).
                    skewed.Offset = TimeSpan.FromMilliseconds(-2);
                    return Task.FromResult(1);
                }, compensate: (_, _) => { undone.Enqueue("release-stock"); return Task.CompletedTask; }, cancellationToken: ct);
                await ctx.StepAsync<int>("charge", _ => throw new NonRetryableException("card declined"), cancellationToken: ct);
                return 0;
            }),
            configureServices: services => services.AddSingleton<TimeProvider>(skewed));

        var id = await node.StartRunAsync("saga");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Compensated, run.Status);
        // Newest first in the order the saga ran: stock released before the order is cancelled. Before (a review of this
        // session's first ordering): compensations were ordered by the stored end, and the clock's step reversed them.
        Assert.Equal(["release-stock", "cancel-order"], undone);
    }

    private sealed class SkewedClock(ExactClock inner) : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + Offset;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            inner.CreateTimer(callback, state, dueTime, period);

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;
    }
}
