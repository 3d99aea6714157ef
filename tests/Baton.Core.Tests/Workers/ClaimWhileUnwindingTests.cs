using System.Text.Json;
using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Storage;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Workers;

/// <summary>
/// A run claimed again on the node where its previous execution is still unwinding (stored as suspended, then woken before
/// that execution has ended) starts there once that execution has ended, instead of being handed back.
/// </summary>
public sealed class ClaimWhileUnwindingTests
{
    [Fact]
    public async Task Claim_RunWokenWhileItsSuspendedExecutionUnwinds_StartsWhenThatEndsCountingOneExecution()
    {
        var runs = new SuspensionGatedRunStore();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("waiter", async (ctx, _, ct) => await ctx.WaitForEventAsync<int>("go", cancellationToken: ct)),
            configureServices: s => s.AddSingleton<IRunStore>(sp => runs.Over(sp.GetRequiredService<IBatonStore>().Runs)));
        var ended = 0;
        node.Worker.ExecutionEnded += _ => Interlocked.Increment(ref ended);

        var id = await node.StartRunAsync("waiter");
        // The suspension is stored; its execution is held before it ends, so the run is still executing on this node.
        await runs.SuspensionWritten.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await node.Client.SendEventAsync(id, "go", JsonSerializer.SerializeToElement(5));
        // The event makes the run runnable and wakes the worker, whose claim finds it still executing here.
        var claimed = await node.WaitForAsync(id, r => r.Executions == 2);
        var endedWhileHeld = Volatile.Read(ref ended);
        runs.Release.SetResult();
        var run = await node.WaitForIdleAsync(id, r => r.Status.IsTerminal());

        Assert.Equal(RunStatus.Running, claimed.Status);
        Assert.NotNull(claimed.LeaseOwner);
        Assert.Equal(0, endedWhileHeld);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("5", run.Output);
        // Two executions ran and two were counted: the claim made while the first unwound was not handed back.
        Assert.Equal(2, run.Executions);
        // ExecutionEnded is raised just after the slot is freed, which is what the idle wait saw.
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref ended)), n => n == 2, "both executions to be counted ended");
    }

    /// <summary>Holds the execution that wrote a suspension (after the write) until released; everything else passes through.</summary>
    private sealed class SuspensionGatedRunStore : PassThroughRunStore
    {
        private int _held;

        public TaskCompletionSource SuspensionWritten { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IRunStore Over(IRunStore inner)
        {
            Inner = inner;
            return this;
        }

        public override async Task<bool> UpdateRunAsync(UpdateRunRequest request, CancellationToken cancellationToken = default)
        {
            var written = await Inner.UpdateRunAsync(request, cancellationToken);
            if (request.Status == RunStatus.Suspended && Interlocked.Exchange(ref _held, 1) == 0)
            {
                SuspensionWritten.SetResult();
                await Release.Task.WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
            }

            return written;
        }
    }
}
