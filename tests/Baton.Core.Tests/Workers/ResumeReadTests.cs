using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Storage;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Workers;

/// <summary>
/// The read an execution of a resumed run makes first (its stored steps) fails as any other store call of an execution
/// does: logged as a store error naming the run, the execution stops, and the run resumes after its lease (real SQLite
/// store behind a wrapper that fails one read, fake clock).
/// </summary>
public sealed class ResumeReadTests
{
    private static readonly DateTimeOffset Start = EngineHarness.Start;

    [Fact]
    public async Task ResumedExecution_StoreErrorReadingItsSteps_LoggedAsAStoreErrorAndTheRunResumesAfterItsLease()
    {
        // Before (a review): the read sat outside the executor's error handling, so its error left the executor and was
        // logged as a crash of the execution ("the execution ended with an unexpected error", 304), not as the store error
        // it was (202, 105), although the run did resume once its lease expired.
        var logs = new CapturingLoggerProvider();
        var clock = new ExactClock(Start);
        var steps = new FailOnceStepStore();
        var calls = 0;
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("nap", async (ctx, _, ct) =>
            {
                var before = await ctx.StepAsync("before", _ => Task.FromResult(Interlocked.Increment(ref calls)), cancellationToken: ct);
                await ctx.DelayAsync("nap", TimeSpan.FromHours(1), ct);
                return before + await ctx.StepAsync("after", _ => Task.FromResult(10), cancellationToken: ct);
            }),
            o => o.DrainTimeout = TimeSpan.Zero,
            time: clock,
            logs: logs,
            configureServices: steps.InPlaceOfTheStepStore());
        var id = await node.StartRunAsync("nap");
        await node.WaitForIdleAsync(id, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
        steps.FailNextStepsRead();

        var (interrupted, run) = await steps.ResumeThroughTheFailedReadAsync(node, clock, id, Start.AddHours(1));

        Assert.NotEqual(RunStatus.Failed, interrupted.Status);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal(1, calls);
        var error = Assert.Single(logs.Entries, e => e.EventId == 202);
        Assert.Contains(id, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("System.TimeoutException: connection dropped", error.Exception, StringComparison.Ordinal);
        Assert.Contains(id, Assert.Single(logs.Entries, e => e.EventId == 105).Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, e => e.EventId is 104 or 304);
    }
}
