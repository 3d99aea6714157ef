using Baton.Hosting;
using Baton.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// <see cref="IRunCompletions"/> on PostgreSQL: a run that ends on the waiting node is seen through the in-process
/// signal (the poll is 10 minutes away); one that ends on another node is seen at the next poll of the waiter's clock.
/// </summary>
public sealed class PostgresRunCompletionsTests : IAsyncLifetime
{
    private static readonly TimeSpan Poll = TimeSpan.FromMinutes(10);
    private readonly PostgresTestDatabase _database = new();

    public Task InitializeAsync() => PostgresTestDatabase.EnsureDatabaseAsync();

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();

    [Fact]
    public async Task WaitForEndAsync_RunEndsOnThisNode_ReturnsWithoutWaitingForPoll()
    {
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = new PollWatchingClock();
        await using var node = await PostgresEngineNode.StartAsync(_database.NewSchema(), "node-a", clock, b => b.AddWorkflow<int, int>(
            "gated", async (ctx, input, ct) => input * await ctx.StepAsync("wait", _ => gate.Task, cancellationToken: ct)));
        var id = await node.StartAsync("gated", 21);

        var waiting = node.Completions.WaitForEndAsync(id, Poll);
        await clock.PollArmed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var stillWaiting = !waiting.IsCompleted;
        gate.SetResult(2);
        var run = await waiting.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(stillWaiting);
        Assert.Equal(RunStatus.Succeeded, run!.Status);
        Assert.Equal("42", run.Output);
    }

    [Fact]
    public async Task WaitForEndAsync_RunEndsOnAnotherNode_SeenAtNextPoll()
    {
        var schema = _database.NewSchema();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = new PollWatchingClock();
        // Node A waits and has no workflow; node B runs the run on the real clock.
        await using var nodeA = await PostgresEngineNode.StartAsync(schema, "node-a", clock, _ => { });
        await using var nodeB = await PostgresEngineNode.StartAsync(schema, "node-b", TimeProvider.System, b => b.AddWorkflow<int, int>(
            "gated", async (ctx, input, ct) => input * await ctx.StepAsync("wait", _ => gate.Task, cancellationToken: ct)));
        var id = await nodeB.StartAsync("gated", 21);

        var waiting = nodeA.Completions.WaitForEndAsync(id, Poll);
        await clock.PollArmed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        gate.SetResult(2);
        await nodeB.Completions.WaitForEndAsync(id).WaitAsync(TimeSpan.FromSeconds(60));
        var beforePoll = waiting.IsCompleted;
        clock.Advance(Poll);
        var run = await waiting.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.False(beforePoll);
        Assert.Equal(RunStatus.Succeeded, run!.Status);
        Assert.Equal("42", run.Output);
    }

    /// <summary>A fake clock that says when a timer of the waiter's poll interval was armed.</summary>
    private sealed class PollWatchingClock() : FakeTimeProvider(DateTimeOffset.UtcNow)
    {
        public TaskCompletionSource PollArmed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime == Poll)
            {
                PollArmed.TrySetResult();
            }

            return timer;
        }
    }
}
