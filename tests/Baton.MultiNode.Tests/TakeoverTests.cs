using System.Net;
using Baton.MultiNode.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Baton.MultiNode.Tests;

[Collection(ClusterCollection.Name)]
public sealed class TakeoverTests(ClusterFixture fixture, ITestOutputHelper output)
{
    /// <summary>The nodes' lease (3 s, see <see cref="BatonNode"/>) plus the 5 s the issue allows.</summary>
    private static readonly TimeSpan TakeoverBound = TimeSpan.FromSeconds(3 + 5);

    [Fact]
    public async Task NodeKilledMidStep_AnotherNodeResumesWithinLeasePlus5s_CompletedStepsNotRerun()
    {
        await using var deployment = await Deployment.CreateAsync(fixture.Cluster);
        var nodes = await deployment.StartNodesAsync(3);
        var (status, runId) = await nodes[0].StartRunAsync("chain", new { steps = 4, stepMs = 2000 });
        Assert.Equal(HttpStatusCode.Accepted, status);

        // s2 has started, so s1's result is stored; the kill lands inside s2's 2 s body.
        var attempt = await Poll.UntilAsync(
            () => deployment.QueryAsync($"SELECT node FROM effects.attempts WHERE run_id = '{runId}' AND step = 's2'", r => r.GetString(0)),
            rows => rows.Count > 0,
            "step s2 to start",
            TimeSpan.FromSeconds(30));
        var victim = nodes.Single(n => n.NodeId == attempt[0]);
        var killedAt = DateTimeOffset.UtcNow;
        deployment.Kill(victim);

        var resumed = await Poll.UntilAsync(
            () => deployment.QueryAsync(
                $"SELECT node, at FROM effects.attempts WHERE run_id = '{runId}' AND step = 's2' AND node <> '{victim.NodeId}'",
                r => (Node: r.GetString(0), At: r.GetFieldValue<DateTimeOffset>(1))),
            rows => rows.Count > 0,
            "another node to resume step s2",
            TakeoverBound + TimeSpan.FromSeconds(10));
        var takeover = resumed[0].At - killedAt;
        await Poll.UntilAsync(
            () => deployment.CountAsync($"SELECT count(*) FROM baton.runs WHERE id = '{runId}' AND status >= 10"),
            n => n == 1,
            "the run to finish",
            TimeSpan.FromSeconds(30));
        var succeeded = await deployment.CountAsync($"SELECT count(*) FROM baton.runs WHERE id = '{runId}' AND status = 10");
        var attempts = await deployment.QueryAsync(
            $"SELECT step, count(*) FROM effects.attempts WHERE run_id = '{runId}' GROUP BY step",
            r => (Step: r.GetString(0), Count: r.GetInt64(1)));
        var audit = await deployment.AuditStepsAsync();

        output.WriteLine($"killed {victim.NodeId} in s2; {resumed[0].Node} started s2 again {takeover.TotalSeconds:0.00} s later; " +
            $"attempts {string.Join(", ", attempts.OrderBy(a => a.Step).Select(a => $"{a.Step}={a.Count}"))}; {audit}");
        Assert.True(takeover <= TakeoverBound, $"takeover took {takeover.TotalSeconds:0.00} s");
        Assert.Equal(1, succeeded);
        Assert.Equal(1, attempts.Single(a => a.Step == "s1").Count);
        Assert.Equal(2, attempts.Single(a => a.Step == "s2").Count);
        Assert.Equal(4, audit.CompletedSteps);
        Assert.Equal(0, audit.AttemptsAfterCompletion);
        Assert.Equal(0, audit.CompletedWithoutEffect);
        Assert.Equal(0, audit.OverlappingAttempts);
    }
}
