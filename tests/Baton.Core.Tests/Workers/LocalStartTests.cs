using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Storage;
using Baton.Testing;
using Baton.Workers;
using Baton.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Workers;

/// <summary>
/// A run started on a node that can execute it at once is created with that node's lease and started there,
/// with no claim; otherwise it is created pending for any node to claim.
/// </summary>
public sealed class LocalStartTests
{
    private static void Gated(Baton.Hosting.BatonBuilder b, TaskCompletionSource gate) =>
        b.AddWorkflow<int, int>("gated", async (ctx, _, ct) => await ctx.StepAsync("work", async _ => { await gate.Task; return 1; }, cancellationToken: ct));

    /// <summary>A running node whose "gated" workflow passes at once.</summary>
    private static async Task<EngineHarness> StartNodeAsync()
    {
        var gate = new TaskCompletionSource();
        gate.SetResult();
        var node = await EngineHarness.StartAsync(b => Gated(b, gate));
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => running, "the worker to start");
        return node;
    }

    private static readonly RunOrigin Now = new() { Now = EngineHarness.Start };

    /// <summary>The "gated" workflow's definition and its empty input, as the client reads them.</summary>
    private static (WorkflowDefinition Definition, RunInput Input) GatedWorkflow(EngineHarness node)
    {
        var definition = node.Services.GetRequiredService<WorkflowRegistry>().Find("gated")!;
        Assert.True(definition.TryReadInput(null, node.Services.GetRequiredService<WorkflowJson>().Input, out var input, out _));
        return (definition, input);
    }

    [Fact]
    public async Task StartRunAsync_NodeWithRoom_StoresRunLeasedToThisNodeAndExecutesItOnce()
    {
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => Gated(b, gate));
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => running, "the worker to start");

        var id = await node.StartRunAsync("gated");
        // Read before any poll interval passes on the fake clock: the start itself leased the run.
        var leased = (await node.Store.Runs.GetRunAsync(id))!;
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.ActiveCount), n => n == 1, "the run to execute on this node");
        gate.SetResult();
        var done = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Running, leased.Status);
        Assert.Equal("node-a", leased.LeaseOwner);
        Assert.Equal(EngineHarness.Start + TimeSpan.FromSeconds(30), leased.LeaseExpiresAt);
        Assert.Equal(1, leased.Executions);
        Assert.Equal(RunStatus.Succeeded, done.Status);
        Assert.Equal(1, done.Executions);
        Assert.Null(done.LeaseOwner);
    }

    [Fact]
    public async Task StartRunAsync_LocalStart_RunsWithoutTheCallersActivityOrAsyncLocals()
    {
        var seen = new TaskCompletionSource<(List<string> Activities, string? Local)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var local = new AsyncLocal<string?>();
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("observe", (_, _, _) =>
        {
            // The current activity and its in-process parents: Baton's own run span when a test in parallel listens to the
            // "Baton" source (its parent is then the caller's trace context, remote, never the caller's Activity object).
            var chain = new List<string>();
            for (var a = System.Diagnostics.Activity.Current; a is not null; a = a.Parent)
            {
                chain.Add(a.OperationName);
            }

            seen.TrySetResult((chain, local.Value));
            return Task.FromResult(1);
        }));
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => running, "the worker to start");

        RunInfo created;
        using (var caller = new System.Diagnostics.Activity("caller-request").Start())
        {
            local.Value = "caller's value";
            created = (await node.Client.StartRunAsync(new StartRunRequest { Workflow = "observe" })).Run!;
        }

        var done = await node.WaitForEndAsync(created.Id);
        var (activities, value) = await seen.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((RunStatus.Running, 1), (created.Status, created.Executions)); // leased by the create itself: started here, not claimed
        Assert.Equal(RunStatus.Succeeded, done.Status);
        Assert.DoesNotContain("caller-request", activities);
        Assert.Null(value);
    }

    [Fact]
    public async Task StartRunAsync_NodeFull_StoresPendingRunThatIsClaimedWhenASlotFrees()
    {
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => Gated(b, gate), o => o.MaxConcurrentRuns = 1);
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => running, "the worker to start");

        var first = await node.StartRunAsync("gated");
        var second = await node.StartRunAsync("gated");
        var waiting = (await node.Store.Runs.GetRunAsync(second))!;
        gate.SetResult();
        var firstDone = await node.WaitForEndAsync(first);
        // No clock move: the end of the first execution wakes the claim loop, which takes the second run.
        // Idle too: the slot is freed just after the end is stored.
        var secondDone = await node.WaitForIdleAsync(second, r => r.Status.IsTerminal());

        Assert.Equal(RunStatus.Pending, waiting.Status);
        Assert.Null(waiting.LeaseOwner);
        Assert.Equal(0, waiting.Executions);
        Assert.Equal(RunStatus.Succeeded, firstDone.Status);
        Assert.Equal(RunStatus.Succeeded, secondDone.Status);
        Assert.Equal(1, secondDone.Executions);
        Assert.Equal(0, node.Worker.ActiveCount);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public async Task StartRunAsync_WorkerDisabledOrLocalStartsOff_StoresPendingRun(bool runWorker, bool startRunsLocally)
    {
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => Gated(b, gate), o =>
        {
            o.RunWorker = runWorker;
            o.StartRunsLocally = startRunsLocally;
        });
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => running == runWorker, "the worker to start, if it runs");

        // The record the create wrote (a running worker may claim the run right after, so the store is not read).
        var created = (await node.Client.StartRunAsync(new StartRunRequest { Workflow = "gated" })).Run!;
        gate.SetResult();

        // The client's view has no lease; pending with no execution is a run no node holds.
        Assert.Equal(RunStatus.Pending, created.Status);
        Assert.Equal(0, created.Executions);
        if (runWorker)
        {
            Assert.Equal(RunStatus.Succeeded, (await node.WaitForEndAsync(created.Id)).Status);
        }
    }

    [Fact]
    public async Task StartRunAsync_RunAfterInTheFuture_StoresPendingRunThatStartsWhenDue()
    {
        var gate = new TaskCompletionSource();
        gate.SetResult();
        await using var node = await EngineHarness.StartAsync(b => Gated(b, gate));
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => running, "the worker to start");

        var result = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "gated", RunAfter = EngineHarness.Start.AddMinutes(1) });
        var stored = (await node.Store.Runs.GetRunAsync(result.Run!.Id))!;
        node.Time.AdvanceTo(EngineHarness.Start.AddMinutes(1));
        node.WakeWorker();
        var done = await node.WaitForEndAsync(stored.Id);

        Assert.Equal(RunStatus.Pending, stored.Status);
        Assert.Null(stored.LeaseOwner);
        Assert.Equal(RunStatus.Succeeded, done.Status);
        Assert.Equal(EngineHarness.Start.AddMinutes(1), done.StartedAt);
    }

    [Fact]
    public async Task StartRunAsync_SameIdempotencyKeyWhileRunning_ReturnsTheLeasedRunAndFreesTheSlot()
    {
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => Gated(b, gate), o => o.MaxConcurrentRuns = 2);
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => running, "the worker to start");

        var first = await node.StartRunAsync("gated", idempotencyKey: "job-1");
        var again = await node.StartRunAsync("gated", idempotencyKey: "job-1");
        // The repeated start reserved a slot and gave it back: a new run still starts here at once.
        var other = await node.StartRunAsync("gated");
        var otherStored = (await node.Store.Runs.GetRunAsync(other))!;
        gate.SetResult();
        await node.WaitForEndAsync(first);
        await node.WaitForEndAsync(other);

        Assert.Equal(first, again);
        Assert.Equal("node-a", otherStored.LeaseOwner);
        Assert.Equal(RunStatus.Running, otherStored.Status);
    }

    [Fact]
    public async Task AdmitAsync_CallerFlowAlreadySuppressed_StartsTheRunAndLeavesTheCallersSuppression()
    {
        await using var node = await StartNodeAsync();
        var (definition, input) = GatedWorkflow(node);
        var created = await node.Store.Runs.CreateRunAsync(new CreateRunRequest
        {
            Id = new RunIds().New(EngineHarness.Start), Workflow = "gated", Now = EngineHarness.Start,
            LeaseOwner = "node-a", LeaseExpiresAt = EngineHarness.Start.AddSeconds(30),
        });

        // The create completes at once, so the hand-over runs synchronously inside the caller's SuppressFlow region,
        // where it suppresses the flow again for the run's task: the run starts and the caller's region stays suppressed.
        Task<CreateRunResult> admitted;
        bool stillSuppressed;
        using (ExecutionContext.SuppressFlow())
        {
            admitted = node.Worker.AdmitAsync(definition, input, Now, (_, _) => Task.FromResult(created), static r => r, CancellationToken.None);
            stillSuppressed = ExecutionContext.IsFlowSuppressed();
        }

        await admitted;
        var done = await node.WaitForEndAsync(created.Run.Id);

        Assert.True(stillSuppressed);
        Assert.Equal(RunStatus.Succeeded, done.Status);
        Assert.Equal(1, done.Executions);
    }

    [Fact]
    public async Task AdmitAsync_LocalStart_RunsWithTheInputReadAtAdmissionWithoutReadingItAgain()
    {
        var seen = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("echo", (_, input, _) =>
        {
            seen.TrySetResult(input);
            return Task.FromResult(input);
        }));
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => running, "the worker to start");
        var definition = node.Services.GetRequiredService<WorkflowRegistry>().Find("echo")!;
        // The stored text says 1 and the read value 2: a run that read its input again from the store would see 1.
        var input = new RunInput(2, "1");

        var created = await node.Worker.AdmitAsync(
            definition, input, Now, (r, ct) => node.Store.Runs.CreateRunAsync(r, ct), static r => r, CancellationToken.None);
        var done = await node.WaitForEndAsync(created.Run.Id);

        Assert.Equal("node-a", created.Run.LeaseOwner);
        Assert.Equal(2, await seen.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("2", done.Output);
    }

    [Fact]
    public async Task AdmitAsync_NodeStoppedWhileTheRunWasCreated_GivesTheLeaseBackForAnyNode()
    {
        await using var node = await StartNodeAsync();
        var (definition, input) = GatedWorkflow(node);

        // The node stops between the reservation and the hand-over, as a SIGTERM can.
        var created = await node.Worker.AdmitAsync(definition, input, Now, async (r, ct) =>
        {
            await node.StopAsync();
            return await node.Store.Runs.CreateRunAsync(r, ct);
        }, static r => r, CancellationToken.None);
        var released = (await node.Store.Runs.GetRunAsync(created.Run.Id))!;
        var claimed = await node.Store.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = "node-b", MaxRuns = 10, Now = EngineHarness.Start, LeaseExpiresAt = EngineHarness.Start.AddSeconds(30),
        });
        var afterStop = (await node.Client.StartRunAsync(new StartRunRequest { Workflow = "gated" })).Run!;
        var afterStopStored = (await node.Store.Runs.GetRunAsync(afterStop.Id))!;

        Assert.Equal("node-a", created.Run.LeaseOwner);
        Assert.Equal(0, node.Worker.ActiveCount);
        Assert.Null(released.LeaseOwner);
        Assert.Equal(RunStatus.Running, released.Status);
        // Claimable at once by another node, not only after the 30 s lease would have run out.
        Assert.Equal(created.Run.Id, Assert.Single(claimed).Id);
        // A stopped node admits nothing more with its own lease.
        Assert.Null(afterStopStored.LeaseOwner);
    }
}
