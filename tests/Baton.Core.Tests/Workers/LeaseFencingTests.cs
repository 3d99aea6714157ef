using Baton.Runs;
using Baton.Storage;
using Baton.Workers;
using Baton.Core.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Core.Tests.Workers;

/// <summary>
/// Self-fencing of a run's execution (found by the multi-node outage test: a node whose renewals failed went on
/// running steps after another node had taken the run over and completed them).
/// </summary>
public sealed class LeaseFencingTests
{
    internal static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Run r1 as claimed at <see cref="Now"/> with a 30 s lease (or <paramref name="leaseExpiresAt"/>); also for the other ActiveRun tests.</summary>
    internal static ActiveRun Claimed(TimeProvider time, DateTimeOffset? leaseExpiresAt = null, string? parentRunId = null) => new(
        new RunRecord { Id = "r1", Workflow = "wf", Status = RunStatus.Running, CreatedAt = Now, UpdatedAt = Now, RunAfter = Now, ParentRunId = parentRunId },
        maxErrors: 10,
        leaseExpiresAt: leaseExpiresAt ?? Now.AddSeconds(30),
        time);

    [Fact]
    public void LeaseExpiresWithoutRenewal_ExecutionInterruptedAsLeaseLost()
    {
        var time = new FakeTimeProvider(Now);
        using var run = Claimed(time);

        time.Advance(TimeSpan.FromSeconds(29));
        var beforeExpiry = run.Interrupted;
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.False(beforeExpiry);
        Assert.True(run.Interrupted);
        Assert.True(run.LeaseLost);
        Assert.True(run.InterruptToken.IsCancellationRequested);
    }

    [Fact]
    public void LeaseRenewed_ExpiryMovesToTheRenewal()
    {
        var time = new FakeTimeProvider(Now);
        using var run = Claimed(time);

        time.Advance(TimeSpan.FromSeconds(20));
        run.LeaseRenewed(time.GetUtcNow().AddSeconds(30), time.GetUtcNow());
        time.Advance(TimeSpan.FromSeconds(29));
        var beforeNewExpiry = run.Interrupted;
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.False(beforeNewExpiry);
        Assert.True(run.LeaseLost);
        Assert.Equal(Now.AddSeconds(50), run.LeaseExpiresAt);
    }

    [Fact]
    public async Task Renewal_TakesFiveSecondsToCommit_LocalFenceFiresAtTheStoredExpiryNotLater()
    {
        var stepToken = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        SlowRenewRunStore? slow = null;
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("long", (ctx, _, ct) => ctx.StepAsync("work", async t =>
            {
                stepToken.TrySetResult(t);
                await Task.Delay(Timeout.InfiniteTimeSpan, t);
                return 1;
            }, cancellationToken: ct)),
            o =>
            {
                o.LeaseDuration = TimeSpan.FromSeconds(30);
                o.HeartbeatInterval = TimeSpan.FromSeconds(10);
                o.PollInterval = TimeSpan.FromHours(1);
            },
            configureServices: s => s.AddSingleton<IRunStore>(sp =>
                slow = new SlowRenewRunStore(sp.GetRequiredService<IBatonStore>().Runs, (ExactClock)sp.GetRequiredService<TimeProvider>())));

        var id = await node.StartRunAsync("long");
        var token = await stepToken.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotNull(slow);

        // The first renewal (at Now+10 s, asking for Now+40 s) takes 5 s to commit; every later one fails (store unreachable).
        node.Time.Advance(TimeSpan.FromSeconds(10));
        await slow!.FirstRenewalDone.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Now.AddSeconds(15), node.Time.GetUtcNow());
        var stored = await node.Store.Runs.GetRunAsync(id);
        Assert.Equal(Now.AddSeconds(40), stored!.LeaseExpiresAt);

        // The stored lease ends at Now+40 s: from then on any node may take the run over.
        node.Time.AdvanceTo(Now.AddSeconds(40));
        var takenOver = await node.Store.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = "node-b", MaxRuns = 10, Now = node.Time.GetUtcNow(), LeaseExpiresAt = node.Time.GetUtcNow().AddSeconds(30),
        });
        // Before (a review): the fence was armed from when the renewal was asked, and fired 5 s late.
        var stillRunningHere = !token.IsCancellationRequested;
        node.Time.Advance(TimeSpan.FromSeconds(5));
        var stoppedBy45 = token.IsCancellationRequested;

        Assert.Contains(takenOver, r => r.Id == id);
        Assert.False(stillRunningHere, $"node-b took the run over at Now+40 s while node-a's step was still running (its fence fired only by Now+45 s: {stoppedBy45})");
    }

    /// <summary>The real store, with a first lease renewal that takes 5 s (fake clock) to commit and later ones that fail.</summary>
    private sealed class SlowRenewRunStore : PassThroughRunStore
    {
        private readonly ExactClock _clock;
        private int _renewals;

        public SlowRenewRunStore(IRunStore inner, ExactClock clock)
        {
            Inner = inner;
            _clock = clock;
        }

        public TaskCompletionSource FirstRenewalDone { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task<RenewLeasesResult> RenewLeasesAsync(RenewLeasesRequest request, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _renewals) > 1)
            {
                throw new InvalidOperationException("store unreachable");
            }

            var result = await Inner.RenewLeasesAsync(request, cancellationToken);
            await Task.Yield();
            _clock.Advance(TimeSpan.FromSeconds(5));
            FirstRenewalDone.TrySetResult();
            return result;
        }
    }
}
