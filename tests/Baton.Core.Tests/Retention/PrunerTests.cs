using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Testing;

namespace Baton.Core.Tests.Retention;

/// <summary>Finished runs go once they are older than <c>Retention</c>; active runs stay, whatever their age.</summary>
public sealed class PrunerTests
{
    private static void Workflows(Baton.Hosting.BatonBuilder b, Task gate)
    {
        b.AddWorkflow<int, int>("quick", (ctx, x, ct) => ctx.StepAsync("s", _ => Task.FromResult(x), cancellationToken: ct));
        b.AddWorkflow<int, int>("slow", async (ctx, _, ct) => await ctx.StepAsync("wait", async _ => { await gate; return 1; }, cancellationToken: ct));
    }

    [Fact]
    public async Task Pruner_RetentionPassed_DeletesFinishedRunAndKeepsActiveOne()
    {
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(b => Workflows(b, gate.Task), o =>
        {
            o.Retention = TimeSpan.FromDays(1);
            o.PruneInterval = TimeSpan.FromHours(1);
        });
        var finished = await node.StartRunAsync("quick", 7);
        await node.WaitForEndAsync(finished);
        var active = await node.StartRunAsync("slow");
        await node.WaitForAsync(active, r => r.Status == RunStatus.Running);

        // Not old enough yet: an interval passes, nothing goes.
        node.Time.Advance(TimeSpan.FromHours(1));
        var kept = await node.Store.Runs.GetRunAsync(finished);
        // A day and two intervals later the finished run is older than the retention.
        node.Time.Advance(TimeSpan.FromDays(1));
        node.Time.Advance(TimeSpan.FromHours(1));
        await Poll.UntilAsync(() => node.Store.Runs.GetRunAsync(finished), r => r is null, "the finished run to be pruned");
        var stillActive = await node.Store.Runs.GetRunAsync(active);
        gate.SetResult();
        var ended = await node.WaitForEndAsync(active);

        Assert.NotNull(kept);
        Assert.Empty(await node.Store.Steps.GetStepsAsync(finished));
        Assert.NotNull(stillActive);
        Assert.Equal(RunStatus.Succeeded, ended.Status);
    }

    [Fact]
    public async Task Pruner_RetentionZero_KeepsEverything()
    {
        await using var node = await EngineHarness.StartAsync(b => Workflows(b, Task.CompletedTask), o =>
        {
            o.Retention = TimeSpan.Zero;
            o.PruneInterval = TimeSpan.FromHours(1);
        });
        var finished = await node.StartRunAsync("quick", 7);
        await node.WaitForEndAsync(finished);

        for (var i = 0; i < 5; i++)
        {
            node.Time.Advance(TimeSpan.FromDays(30));
        }

        // The worker's own writes go through the store too; once a new run has finished, any prune would have run.
        await node.WaitForEndAsync(await node.StartRunAsync("quick", 8));
        Assert.NotNull(await node.Store.Runs.GetRunAsync(finished));
    }
}
