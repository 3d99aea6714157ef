using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Storage;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Workers;

public sealed class RunControlTests
{
    private static void Gated(Baton.Hosting.BatonBuilder b, TaskCompletionSource gate, Action<Baton.Workflows.WorkflowOptions>? configure = null) =>
        b.AddWorkflow<int, int>("sync", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("work", async _ => { await gate.Task; return 1; }, cancellationToken: ct);
            return 0;
        }, configure);

    [Fact]
    public async Task StartRunAsync_SingletonWhileActive_ConflictNamesActiveRun()
    {
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => Gated(b, gate, o => o.ConcurrencyKey = "sync"));

        var first = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "sync" });
        var second = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "sync" });
        gate.SetResult();
        await node.WaitForEndAsync(first.Run!.Id);
        var third = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "sync" });

        Assert.Equal(StartRunOutcome.Created, first.Outcome);
        Assert.Equal(StartRunOutcome.Conflict, second.Outcome);
        Assert.Equal(first.Run.Id, second.Run!.Id);
        Assert.Equal(StartRunOutcome.Created, third.Outcome);
        Assert.Equal(2, (await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs.Count);
    }

    [Fact]
    public async Task StartRunAsync_ConcurrencyLimitThree_FourthRefused()
    {
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => Gated(b, gate, o => { o.ConcurrencyKey = "pool"; o.ConcurrencyLimit = 3; }));

        var outcomes = new List<StartRunOutcome>();
        for (var i = 0; i < 4; i++)
        {
            outcomes.Add((await node.Client.StartRunAsync(new StartRunRequest { Workflow = "sync" })).Outcome);
        }

        gate.SetResult();
        Assert.Equal([StartRunOutcome.Created, StartRunOutcome.Created, StartRunOutcome.Created, StartRunOutcome.Conflict], outcomes);
    }

    [Fact]
    public async Task StartRunAsync_ConcurrentSingletonStarts_ExactlyOneCreated()
    {
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => Gated(b, gate, o => o.ConcurrencyKey = "sync"));

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => node.Client.StartRunAsync(new StartRunRequest { Workflow = "sync" })));
        gate.SetResult();

        Assert.Single(results, r => r.Outcome == StartRunOutcome.Created);
        Assert.Equal(49, results.Count(r => r.Outcome == StartRunOutcome.Conflict));
    }

    [Fact]
    public async Task StartRunAsync_SameIdempotencyKey_ReturnsSameRun()
    {
        var gate = new TaskCompletionSource();
        gate.SetResult();
        await using var node = await EngineHarness.StartAsync(b => Gated(b, gate));

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            node.Client.StartRunAsync(new StartRunRequest { Workflow = "sync", IdempotencyKey = "order-42" })));
        var later = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "sync", IdempotencyKey = "order-42" });

        Assert.Single(results, r => r.Outcome == StartRunOutcome.Created);
        Assert.Single(results.Select(r => r.Run!.Id).Append(later.Run!.Id).Distinct());
        Assert.Equal(StartRunOutcome.Existing, later.Outcome);
        Assert.Single((await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task DelayAsync_LongTimer_SuspendsReleasingLeaseThenResumes()
    {
        var before = 0;
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("nightly", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("before", _ => Task.FromResult(++before), cancellationToken: ct);
            await ctx.DelayAsync("wait-an-hour", TimeSpan.FromHours(1), ct);
            return await ctx.StepAsync("after", _ => Task.FromResult(2), cancellationToken: ct);
        }));

        var id = await node.StartRunAsync("nightly");
        var suspended = await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended);
        Assert.Null(suspended.LeaseOwner);
        Assert.Equal(EngineHarness.Start.AddHours(1), suspended.RunAfter, TimeSpan.FromSeconds(1));

        node.Time.Advance(TimeSpan.FromMinutes(59));
        var stillWaiting = await node.Store.Runs.GetRunAsync(id);
        node.Time.Advance(TimeSpan.FromMinutes(1));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Suspended, stillWaiting!.Status);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(1, before);
        Assert.True(run.Executions >= 2);
    }

    [Fact]
    public async Task DelayAsync_ShortTimer_WaitsInMemory()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("short", async (ctx, _, ct) =>
        {
            await ctx.DelayAsync("pause", TimeSpan.FromSeconds(2), ct);
            return 1;
        }));

        var id = await node.StartRunAsync("short");
        await node.Time.AdvanceToTimerAsync(EngineHarness.Start.AddSeconds(2), TimerKind.Delay);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(1, run.Executions);
    }

    [Fact]
    public async Task CancelRunAsync_SuspendedRun_Cancelled()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("sleepy", async (ctx, _, ct) =>
        {
            await ctx.DelayAsync("nap", TimeSpan.FromDays(1), ct);
            return 1;
        }));

        var id = await node.StartRunAsync("sleepy");
        await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended);
        // No clock move: the cancel request makes the suspended run due and wakes the claim loop.
        await node.Client.CancelRunAsync(id);
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Cancelled, run.Status);
    }

    [Fact]
    public async Task Worker_ExpiredLeaseOfDeadNode_TakesOverAndFinishes()
    {
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("job", async (ctx, _, ct) => await ctx.StepAsync("work", _ => Task.FromResult(7), cancellationToken: ct)),
            startServices: false);
        var id = await node.StartRunAsync("job");
        var now = node.Time.GetUtcNow();
        var claimed = await node.Store.Runs.ClaimRunsAsync(new ClaimRunsRequest { Owner = "dead-node", MaxRuns = 1, Now = now, LeaseExpiresAt = now.AddSeconds(30) });
        Assert.Single(claimed);

        foreach (var hosted in node.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        node.Time.AdvanceTo(now.AddSeconds(30));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(now.AddSeconds(30), run.CompletedAt);
        Assert.Equal(2, run.Executions);
    }

    [Fact]
    public async Task Worker_Shutdown_LetsInFlightStepFinishWithinDrainTimeout()
    {
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("drain", async (ctx, _, ct) => await ctx.StepAsync("work", async _ => { started.SetResult(); await release.Task; return 5; }, cancellationToken: ct)),
            o => o.DrainTimeout = TimeSpan.FromMinutes(1));

        var id = await node.StartRunAsync("drain");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var stopping = node.StopAsync();
        release.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(60));

        var run = await node.Store.Runs.GetRunAsync(id);
        Assert.Equal(RunStatus.Succeeded, run!.Status);
    }

    [Fact]
    public async Task Worker_Stopping_LeavesNewRunPendingWhileInFlightRunDrains()
    {
        var path = EngineHarness.NewDatabasePath();
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        void Workflows(Baton.Hosting.BatonBuilder b)
        {
            b.AddWorkflow<int, int>("drain", async (ctx, _, ct) => await ctx.StepAsync("work", async _ => { started.TrySetResult(); await release.Task; return 5; }, cancellationToken: ct));
            b.AddWorkflow<int, int>("late", async (ctx, _, ct) => await ctx.StepAsync("work", _ => Task.FromResult(7), cancellationToken: ct));
        }

        string inFlight, late;
        RunRecord drained, lateWhenStopped;
        await using (var node = await EngineHarness.StartAsync(Workflows, o => o.DrainTimeout = TimeSpan.FromMinutes(1), databasePath: path))
        {
            inFlight = await node.StartRunAsync("drain");
            await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var stopping = node.StopAsync();
            await Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => !running, "the claim loop to end");
            late = await node.StartRunAsync("late");
            // Five poll intervals (the harness polls every second) pass while the in-flight run drains: a worker still
            // claiming would take the new run now.
            for (var i = 0; i < 5; i++)
            {
                node.Time.Advance(TimeSpan.FromSeconds(1));
                var seen = (await node.Store.Runs.GetRunAsync(late))!;
                Assert.True(seen.Executions == 0, $"the stopping node claimed the new run (status {seen.Status}, owner {seen.LeaseOwner})");
            }

            release.SetResult();
            await stopping.WaitAsync(TimeSpan.FromSeconds(60));
            drained = (await node.Store.Runs.GetRunAsync(inFlight))!;
            lateWhenStopped = (await node.Store.Runs.GetRunAsync(late))!;
        }

        RunRecord lateRun;
        await using (var next = await EngineHarness.StartAsync(Workflows, o => o.NodeId = "node-b", databasePath: path))
        {
            lateRun = await next.WaitForEndAsync(late);
        }

        Assert.Equal(RunStatus.Succeeded, drained.Status);
        Assert.Equal(RunStatus.Pending, lateWhenStopped.Status);
        Assert.Equal(0, lateWhenStopped.Executions);
        Assert.Null(lateWhenStopped.LeaseOwner);
        // The run was claimable all along: the next node takes it at once.
        Assert.Equal(RunStatus.Succeeded, lateRun.Status);
        Assert.Equal(1, lateRun.Executions);
        EngineHarness.DeleteDatabase(path);
    }

    [Fact]
    public async Task Worker_ShutdownPastDrainTimeout_InterruptsAndReleasesLease()
    {
        var started = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("stuck", async (ctx, _, ct) =>
            {
                ctx.SetPhase("stuck");
                return await ctx.StepAsync("work", async token => { started.SetResult(); await Task.Delay(Timeout.InfiniteTimeSpan, token); return 5; }, cancellationToken: ct);
            }),
            o => o.DrainTimeout = TimeSpan.Zero);

        var id = await node.StartRunAsync("stuck");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await node.StopAsync();

        var run = await node.Store.Runs.GetRunAsync(id);
        Assert.Equal(RunStatus.Running, run!.Status);
        Assert.Null(run.LeaseOwner);
        Assert.Equal("stuck", run.Phase);
        var attempt = Assert.Single(await node.Store.Steps.GetAttemptsAsync(id));
        Assert.Equal(AttemptOutcome.Interrupted, attempt.Outcome);
    }

    [Fact]
    public async Task Worker_StepLongerThanLease_HeartbeatsKeepTheLease()
    {
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("long", async (ctx, _, ct) => await ctx.StepAsync("work", async _ => { started.TrySetResult(); await release.Task; return 1; }, cancellationToken: ct)),
            o => { o.LeaseDuration = TimeSpan.FromSeconds(30); o.HeartbeatInterval = TimeSpan.FromSeconds(10); });

        var id = await node.StartRunAsync("long");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        // Seven heartbeats, 10 s apart: each waits for the previous renewal to be stored, so the lease never runs out.
        RunRecord leased = null!;
        for (var beat = 1; beat <= 7; beat++)
        {
            var at = EngineHarness.Start.AddSeconds(10 * beat);
            await node.Time.AdvanceToTimerAsync(at, TimerKind.Periodic);
            leased = await node.WaitForAsync(id, r => r.LeaseExpiresAt == at.AddSeconds(30));
        }

        release.SetResult();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal("node-a", leased.LeaseOwner);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(1, run.Executions);
    }

    [Fact]
    public async Task Worker_RunOfWorkflowNotRegisteredHere_LeftForAnotherNode()
    {
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("local", async (ctx, _, ct) => await ctx.StepAsync("work", _ => Task.FromResult(1), cancellationToken: ct)));
        var now = node.Time.GetUtcNow();
        var foreign = await node.Store.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.CreateVersion7(now).ToString("N"), Workflow = "elsewhere", Now = now });

        var local = await node.StartRunAsync("local");
        var done = await node.WaitForEndAsync(local);
        var untouched = await node.Store.Runs.GetRunAsync(foreign.Run.Id);

        Assert.Equal(RunStatus.Succeeded, done.Status);
        Assert.Equal(RunStatus.Pending, untouched!.Status);
        Assert.Equal(0, untouched.Executions);
        Assert.Null(untouched.LeaseOwner);
    }

    [Fact]
    public async Task Worker_DisposedWithoutStop_ItsLoopEndsWithoutAnError()
    {
        // What a host disposed without StopAsync does (await using over a started host) while a run is in flight. Before:
        // Dispose disposed the housekeeping source first, the loop's finally cancelled it once the run had drained, and the
        // loop ended with ObjectDisposedException, logged by the host as a critical "BackgroundService failed".
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => Gated(b, gate), o => o.DrainTimeout = TimeSpan.Zero);
        var worker = node.Worker;
        var id = await node.StartRunAsync("sync");
        await node.WaitForAsync(id, r => r.Status == RunStatus.Running);

        var loop = worker.ExecuteTask!;
        worker.Dispose();
        gate.SetResult();
        await Task.WhenAny(loop, Task.Delay(TimeSpan.FromSeconds(30)));

        // Ended, and not faulted: a cancelled loop is how a stopped background service ends, and the host says nothing of it.
        Assert.True(loop.IsCompleted);
        Assert.False(loop.IsFaulted, loop.Exception?.ToString());
    }
}
