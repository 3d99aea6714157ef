using Baton.Core.Tests.Support;
using Baton.Hosting;
using Baton.Retries;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;

namespace Baton.Core.Tests.Steps;

/// <summary>
/// The workflow-level defaults (<see cref="Baton.Workflows.WorkflowOptions.Retry"/> and
/// <see cref="Baton.Workflows.WorkflowOptions.StepTimeout"/>) apply to steps that set none, and a step's own
/// options win. The clock moves only once the engine waits for the instant it should, so times are exact.
/// </summary>
public sealed class WorkflowDefaultsTests
{
    private static readonly DateTimeOffset Start = EngineHarness.Start;

    /// <summary>Distinct from every built-in default: 2 attempts instead of 4, 30 s apart instead of 5 s.</summary>
    private static readonly RetryPolicy WorkflowRetry = new() { MaxAttempts = 2, BaseDelay = TimeSpan.FromSeconds(30) };

    [Fact]
    public Task StepAsync_NoStepOptions_UsesWorkflowRetryPolicy() =>
        AssertAttemptsStartAtAsync(stepOptions: null, [TimeSpan.Zero, TimeSpan.FromSeconds(30)]);

    [Fact]
    public Task StepAsync_OwnRetryPolicy_OverridesWorkflowRetryPolicy() =>
        AssertAttemptsStartAtAsync(
            new StepOptions { Retry = new RetryPolicy { MaxAttempts = 3, BaseDelay = TimeSpan.FromSeconds(7) } },
            [TimeSpan.Zero, TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(21)]);

    [Fact]
    public Task StepAsync_NoStepOptions_WorkflowStepTimeoutCancelsAttemptToken() =>
        AssertAttemptCancelledAfterAsync(stepOptions: null, TimeSpan.FromSeconds(20));

    [Fact]
    public Task StepAsync_OwnTimeout_OverridesWorkflowStepTimeout() =>
        AssertAttemptCancelledAfterAsync(new StepOptions { Timeout = TimeSpan.FromSeconds(5) }, TimeSpan.FromSeconds(5));

    /// <summary>
    /// A step that always fails, in a workflow whose default policy is <see cref="WorkflowRetry"/>: its attempts
    /// must start exactly at <paramref name="expected"/> (offsets from the run's start) and no more follow.
    /// </summary>
    private static async Task AssertAttemptsStartAtAsync(StepOptions? stepOptions, TimeSpan[] expected)
    {
        var calls = 0;
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("flaky", async (ctx, _, ct) =>
                await ctx.StepAsync<int>("call", _ => { Interlocked.Increment(ref calls); throw new HttpRequestException("503"); }, stepOptions, cancellationToken: ct),
                o => o.Retry = WorkflowRetry),
            LongLease,
            time: clock);

        var id = await node.StartRunAsync("flaky");
        foreach (var retryAt in expected.Skip(1))
        {
            await clock.WaitForTimerAsync(Start + retryAt);
            clock.SetUtcNow(Start + retryAt);
        }

        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("call", run.Failure!.Step);
        Assert.Equal(expected.Length, calls);
        var attempts = (await node.Store.Steps.GetAttemptsAsync(id)).OrderBy(a => a.Attempt).ToList();
        Assert.Equal(expected.Select(offset => Start + offset), attempts.Select(a => a.StartedAt));
        Assert.All(attempts, a => Assert.Equal(AttemptOutcome.Failed, a.Outcome));
    }

    /// <summary>
    /// A step that waits on its attempt token forever, in a workflow with a 20 s step timeout and no retries: the
    /// token must be cancelled exactly <paramref name="limit"/> after the attempt began, not a millisecond sooner.
    /// </summary>
    private static async Task AssertAttemptCancelledAfterAsync(StepOptions? stepOptions, TimeSpan limit)
    {
        var started = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawCancel = 0;
        var clock = new ExactClock(Start);
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("slow", async (ctx, _, ct) =>
                await ctx.StepAsync("hang", async attemptToken =>
                {
                    started.TrySetResult(attemptToken);
                    try
                    {
                        await Task.Delay(Timeout.InfiniteTimeSpan, attemptToken);
                    }
                    catch (OperationCanceledException)
                    {
                        Interlocked.Increment(ref sawCancel);
                        throw;
                    }

                    return 1;
                }, stepOptions, cancellationToken: ct),
                o => { o.StepTimeout = TimeSpan.FromSeconds(20); o.Retry = RetryPolicy.None; }),
            LongLease,
            time: clock);

        var id = await node.StartRunAsync("slow");
        var token = await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await clock.WaitForTimerAsync(Start + limit);
        clock.SetUtcNow(Start + limit - TimeSpan.FromMilliseconds(1));
        var cancelledEarly = token.IsCancellationRequested;
        clock.SetUtcNow(Start + limit);
        var cancelledAtLimit = token.IsCancellationRequested;
        var run = await node.WaitForEndAsync(id);

        Assert.False(cancelledEarly);
        Assert.True(cancelledAtLimit);
        Assert.Equal(1, sawCancel);
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains($"timed out after {limit.TotalSeconds:0} s", run.Failure!.Message);
        var attempt = Assert.Single(await node.Store.Steps.GetAttemptsAsync(id));
        Assert.Equal(AttemptOutcome.TimedOut, attempt.Outcome);
        Assert.Equal(limit, attempt.EndedAt!.Value - attempt.StartedAt);
    }

    /// <summary>
    /// A lease far longer than any clock jump here, so a jump never expires it before a heartbeat lands; and a zero
    /// drain, so a failed wait leaves disposal nothing to wait for on a clock that nobody moves.
    /// </summary>
    private static void LongLease(BatonOptions o)
    {
        o.LeaseDuration = TimeSpan.FromMinutes(10);
        o.HeartbeatInterval = TimeSpan.FromMinutes(3);
        o.DrainTimeout = TimeSpan.Zero;
        // The backoffs timed here are waited in memory; long ones that suspend the run are in Retries/DurableRetryTests.
        o.RetrySuspendThreshold = TimeSpan.FromHours(1);
    }
}
