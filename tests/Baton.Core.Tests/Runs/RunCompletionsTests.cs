using System.Text.Json;
using Baton.Core.Tests.Support;
using Baton.Runs;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Runs;

/// <summary>
/// <see cref="IRunCompletions"/> on SQLite with the fake clock: an end on this node is seen without the clock moving;
/// an end elsewhere is seen at the next poll, which only the clock can bring.
/// </summary>
public sealed class RunCompletionsTests
{
    // Distinct from every engine timer, so the test can wait for exactly the waiter's poll.
    private static readonly TimeSpan Poll = TimeSpan.FromMinutes(7) + TimeSpan.FromSeconds(13);

    [Fact]
    public async Task WaitForEndAsync_RunEndsOnThisNode_ReturnsWithoutPollOrClockMove()
    {
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("gated", async (ctx, input, ct) =>
            input * await ctx.StepAsync("wait", _ => gate.Task, cancellationToken: ct)));
        var completions = node.Services.GetRequiredService<IRunCompletions>();
        var id = await node.StartRunAsync("gated", 21);

        var waiting = completions.WaitForEndAsync(id, Poll);
        await node.Time.WaitForTimerAsync(EngineHarness.Start + Poll);
        var stillWaiting = !waiting.IsCompleted;
        gate.SetResult(2);
        var run = await waiting.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(stillWaiting);
        Assert.Equal(EngineHarness.Start, node.Time.GetUtcNow());
        Assert.Equal(RunStatus.Succeeded, run!.Status);
        Assert.Equal("42", run.Output);
        Assert.Equal(0, WaitingRuns(node));
    }

    [Fact]
    public async Task WaitForEndAsync_RunSuspendsThenEnds_KeepsWaitingUntilTheEnd()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, string>("waiter", async (ctx, _, ct) =>
            await ctx.WaitForEventAsync<string>("approved", cancellationToken: ct)));
        var completions = node.Services.GetRequiredService<IRunCompletions>();
        var id = await node.StartRunAsync("waiter");
        var waiting = completions.WaitForEndAsync(id, Poll);

        var suspended = await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        await node.Time.WaitForTimerAsync(EngineHarness.Start + Poll);
        var stillWaiting = !waiting.IsCompleted;
        await node.Client.SendEventAsync(id, "approved", JsonSerializer.SerializeToElement("ann"));
        var run = await waiting.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, suspended.Executions);
        Assert.True(stillWaiting);
        Assert.Equal(RunStatus.Succeeded, run!.Status);
        Assert.Equal("\"ann\"", run.Output);
        Assert.Equal(0, WaitingRuns(node));
    }

    [Fact]
    public async Task WaitForEndAsync_RunEndsOnAnotherNode_SeenAtNextPoll()
    {
        // Node A has no workflow, so only node B (same store, its own clock) runs it: A gets no in-process signal.
        var path = EngineHarness.NewDatabasePath();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var nodeA = await EngineHarness.StartAsync(_ => { }, databasePath: path);
        await using var nodeB = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("gated", async (ctx, input, ct) => input * await ctx.StepAsync("wait", _ => gate.Task, cancellationToken: ct)),
            o => o.NodeId = "node-b", databasePath: path);
        var id = await nodeB.StartRunAsync("gated", 21);
        var completions = nodeA.Services.GetRequiredService<IRunCompletions>();

        var waiting = completions.WaitForEndAsync(id, Poll);
        await nodeA.Time.WaitForTimerAsync(EngineHarness.Start + Poll);
        gate.SetResult(2);
        await nodeB.WaitForEndAsync(id);
        var beforePoll = waiting.IsCompleted;
        nodeA.Time.AdvanceTo(EngineHarness.Start + Poll);
        var run = await waiting.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.False(beforePoll);
        Assert.Equal(RunStatus.Succeeded, run!.Status);
        Assert.Equal("42", run.Output);
    }

    [Fact]
    public async Task WaitForEndAsync_RunAlreadyEnded_ReturnsItAtOnce()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("double", (_, input, _) => Task.FromResult(input * 2)));
        var id = await node.StartRunAsync("double", 21);
        await node.WaitForEndAsync(id);

        var run = await node.Services.GetRequiredService<IRunCompletions>().WaitForEndAsync(id, Poll).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal((id, RunStatus.Succeeded, "42"), (run!.Id, run.Status, run.Output));
        Assert.Equal(0, WaitingRuns(node));
    }

    [Fact]
    public async Task WaitForEndAsync_UnknownRun_ReturnsNull()
    {
        await using var node = await EngineHarness.StartAsync(_ => { });

        var run = await node.Services.GetRequiredService<IRunCompletions>().WaitForEndAsync("0193a0b0c0d0e0f00000000000000000", Poll);

        Assert.Null(run);
        Assert.Equal(0, WaitingRuns(node));
    }

    [Fact]
    public async Task WaitForEndAsync_Cancelled_ThrowsAndLeavesNoWaiter()
    {
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("gated", async (ctx, input, ct) =>
            input * await ctx.StepAsync("wait", _ => gate.Task, cancellationToken: ct)));
        var id = await node.StartRunAsync("gated", 21);
        using var cancel = new CancellationTokenSource();

        var waiting = node.Services.GetRequiredService<IRunCompletions>().WaitForEndAsync(id, Poll, cancel.Token);
        await node.Time.WaitForTimerAsync(EngineHarness.Start + Poll);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, WaitingRuns(node));
        gate.SetResult(1);
    }

    [Fact]
    public async Task WaitForEndAsync_PollIntervalNotPositive_Throws()
    {
        await using var node = await EngineHarness.StartAsync(_ => { });
        var completions = node.Services.GetRequiredService<IRunCompletions>();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => completions.WaitForEndAsync("any", TimeSpan.Zero));
    }

    private static int WaitingRuns(EngineHarness node) => ((RunCompletions)node.Services.GetRequiredService<IRunCompletions>()).WaitingRuns;
}
