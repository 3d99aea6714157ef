using System.Diagnostics;
using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Storage;
using Baton.Testing;
using Baton.Workers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Core.Tests.Workers;

/// <summary>
/// A run's final write may complete on the store's writer thread (<see cref="UpdateRunRequest.ContinuesBriefly"/>) only
/// when nothing of the user's runs after it; the engine's bookkeeping after it still frees the slot and signals the end.
/// </summary>
public sealed class RunEndContinuationTests
{
    private static ActiveRun Claimed(string? parentRunId = null) =>
        LeaseFencingTests.Claimed(new FakeTimeProvider(LeaseFencingTests.Now), parentRunId: parentRunId);

    [Fact]
    public void EndsBriefly_NoSpanNoInformationLineNoParent_True()
    {
        using var active = Claimed();

        Assert.True(RunExecutor.EndsBriefly(active, NullLogger.Instance));
    }

    [Fact]
    public void EndsBriefly_InformationLogged_False()
    {
        using var active = Claimed();
        using var factory = LoggerFactory.Create(b => b.AddProvider(new CapturingLoggerProvider()));

        Assert.False(RunExecutor.EndsBriefly(active, factory.CreateLogger("Baton")));
    }

    [Fact]
    public void EndsBriefly_RunHasAParentToWake_False()
    {
        using var active = Claimed(parentRunId: "parent");

        Assert.False(RunExecutor.EndsBriefly(active, NullLogger.Instance));
    }

    [Fact]
    public void EndsBriefly_SpanToEnd_False()
    {
        using var active = Claimed();
        using var span = new Activity("run");
        active.Span = span;

        Assert.False(RunExecutor.EndsBriefly(active, NullLogger.Instance));
    }

    [Fact]
    public async Task ExecuteAsync_ManyRunsEndingOnTheWriter_EverySlotFreedAndEveryEndSignalled()
    {
        // Two slots for 300 runs: each start after the first two waits for an end continued on the writer to free a slot.
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("one", async (ctx, x, ct) => await ctx.StepAsync("only", _ => Task.FromResult(x), cancellationToken: ct)),
            o => o.MaxConcurrentRuns = 2);

        var ids = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            ids.Add(await node.StartRunAsync("one", i));
        }

        var ended = await Task.WhenAll(ids.Select(id => node.WaitForEndAsync(id)));
        // The slot of each is freed after its end is stored: wait for the last one's.
        await node.WaitForIdleAsync(ids[^1], r => r.Status.IsTerminal());

        Assert.All(ended, r => Assert.Equal(RunStatus.Succeeded, r.Status));
        Assert.Equal(0, node.Worker.ActiveCount);
    }
}
