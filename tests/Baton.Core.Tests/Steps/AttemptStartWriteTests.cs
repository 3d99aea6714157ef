using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;
using Baton.Testing;

namespace Baton.Core.Tests.Steps;

/// <summary>
/// An attempt's start is written only once it has run for <c>AttemptStartWriteDelay</c>: short attempts
/// cost one write (start and end together), long ones show as running while they run.
/// </summary>
public sealed class AttemptStartWriteTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(100);

    /// <summary>A node with <paramref name="delay"/> and a run whose one step is running until <c>release</c> is set.</summary>
    private static async Task<(EngineHarness Node, string RunId, TaskCompletionSource Release)> StartBlockedStepAsync(TimeSpan delay)
    {
        var started = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("blocked", async (ctx, _, ct) =>
                await ctx.StepAsync("work", async _ => { started.SetResult(); await release.Task; return 1; }, cancellationToken: ct)),
            o => o.AttemptStartWriteDelay = delay);
        var id = await node.StartRunAsync("blocked");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return (node, id, release);
    }

    [Fact]
    public async Task LongAttempt_AfterTheDelay_IsStoredAsRunningThenEnded()
    {
        var (node, id, release) = await StartBlockedStepAsync(Delay);
        await using var owned = node;
        var before = await node.Store.Steps.GetAttemptsAsync(id);
        node.Time.Advance(Delay);
        var running = await Poll.UntilAsync(() => node.Store.Steps.GetAttemptsAsync(id), a => a.Count == 1, "the start write after the delay");
        var step = Assert.Single(await node.Store.Steps.GetStepsAsync(id));
        release.SetResult();
        await node.WaitForEndAsync(id);
        var ended = Assert.Single(await node.Store.Steps.GetAttemptsAsync(id));

        Assert.Empty(before);
        Assert.Equal(AttemptOutcome.Running, running[0].Outcome);
        Assert.Null(running[0].EndedAt);
        Assert.Equal(StepStatus.Running, step.Status);
        Assert.Equal(AttemptOutcome.Succeeded, ended.Outcome);
        Assert.Equal(EngineHarness.Start, ended.StartedAt);
        Assert.Equal(EngineHarness.Start + Delay, ended.EndedAt);
    }

    [Fact]
    public async Task ShortAttempt_EndedBeforeTheDelay_StoredOnceWithStartAndEnd()
    {
        var (node, id, release) = await StartBlockedStepAsync(Delay);
        await using var owned = node;
        node.Time.Advance(Delay - TimeSpan.FromMilliseconds(1));
        var whileRunning = await node.Store.Steps.GetAttemptsAsync(id);
        release.SetResult();
        await node.WaitForEndAsync(id);
        // The timer is gone with the attempt: moving the clock on writes nothing more.
        node.Time.Advance(Delay);
        var attempt = Assert.Single(await node.Store.Steps.GetAttemptsAsync(id));

        Assert.Empty(whileRunning);
        Assert.Equal(AttemptOutcome.Succeeded, attempt.Outcome);
        Assert.Equal(1, attempt.Attempt);
        Assert.Equal(EngineHarness.Start, attempt.StartedAt);
        Assert.Equal(EngineHarness.Start + Delay - TimeSpan.FromMilliseconds(1), attempt.EndedAt);
    }

    [Fact]
    public async Task ZeroDelay_StartIsStoredAtOnce()
    {
        var (node, id, release) = await StartBlockedStepAsync(TimeSpan.Zero);
        await using var owned = node;
        var running = await Poll.UntilAsync(() => node.Store.Steps.GetAttemptsAsync(id), a => a.Count == 1, "the start write");
        release.SetResult();
        await node.WaitForEndAsync(id);

        Assert.Equal(AttemptOutcome.Running, running[0].Outcome);
        Assert.Equal(AttemptOutcome.Succeeded, Assert.Single(await node.Store.Steps.GetAttemptsAsync(id)).Outcome);
    }
}
