using Baton.Runs;
using Baton.Storage;
using Baton.Workers;
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
}
