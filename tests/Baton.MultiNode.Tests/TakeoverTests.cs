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

    /// <summary>
    /// A node restarted with its node id takes back the leases its killed process held at once: with the default
    /// 30 s lease and no other node, the run resumes within 2 s of the new process being ready.
    /// </summary>
    [Fact]
    public async Task NodeKilledAndRestartedWithSameId_ResumesWithin2sOfReady_CutOffAttemptInterrupted()
    {
        var longLease = new Dictionary<string, string?>
        {
            ["Baton__Engine__LeaseDuration"] = "00:00:30",
            ["Baton__Engine__HeartbeatInterval"] = "00:00:10",
        };
        await using var deployment = await Deployment.CreateAsync(fixture.Cluster);
        var node = deployment.StartNode("n1", longLease);
        await node.WaitForReadyAsync();
        var (status, runId) = await node.StartRunAsync("chain", new { steps = 3, stepMs = 2000 });
        Assert.Equal(HttpStatusCode.Accepted, status);
        // The store records an attempt's start once it has run AttemptStartWriteDelay (100 ms): wait for that record.
        await Poll.UntilAsync(
            () => deployment.CountAsync($"SELECT count(*) FROM baton.step_attempts WHERE run_id = '{runId}' AND step_key = 's2' AND outcome = 0"),
            n => n > 0,
            "step s2's attempt to be recorded",
            TimeSpan.FromSeconds(30));
        deployment.Kill(node);

        var startedAt = DateTimeOffset.UtcNow;
        var restarted = deployment.Restart(node, longLease);
        await restarted.WaitForReadyAsync();
        var readyAt = DateTimeOffset.UtcNow;
        var again = await Poll.UntilAsync(
            () => deployment.QueryAsync(
                $"SELECT at FROM effects.attempts WHERE run_id = '{runId}' AND step = 's2' ORDER BY id OFFSET 1",
                r => r.GetFieldValue<DateTimeOffset>(0)),
            rows => rows.Count > 0,
            "the restarted node to resume step s2",
            TimeSpan.FromSeconds(40));
        var resumedAfter = again[0] - readyAt;
        await Poll.UntilAsync(
            () => deployment.CountAsync($"SELECT count(*) FROM baton.runs WHERE id = '{runId}' AND status = 10"),
            n => n == 1,
            "the run to succeed",
            TimeSpan.FromSeconds(30));
        var open = await deployment.CountAsync($"SELECT count(*) FROM baton.step_attempts WHERE run_id = '{runId}' AND (outcome = 0 OR ended_at IS NULL)");
        var interrupted = await deployment.CountAsync($"SELECT count(*) FROM baton.step_attempts WHERE run_id = '{runId}' AND step_key = 's2' AND outcome = 5");

        output.WriteLine($"restarted {node.NodeId}: s2 started again {resumedAfter.TotalMilliseconds:0} ms after the new process was ready " +
            $"({(again[0] - startedAt).TotalMilliseconds:0} ms after it was started; ready took {(readyAt - startedAt).TotalMilliseconds:0} ms)");
        Assert.True(resumedAfter < TimeSpan.FromSeconds(2), $"resume took {resumedAfter.TotalSeconds:0.00} s after ready");
        Assert.Equal(0, open);
        Assert.Equal(1, interrupted);
    }

    /// <summary>
    /// The session holding a node's id lock is cut (a failover, a network blip, pg_terminate_backend) and a second
    /// process starts with the same node id and takes the lock. Before: the first never checked its lock again, both
    /// leased under one name (which fences nothing), and the same steps ran on both for as long as they lived. Now the
    /// first finds the lock gone at its next check (one heartbeat, 10 s here), stops its runs and exits with code 1; the
    /// run ends once, on the second.
    /// </summary>
    [Fact]
    public async Task LockSessionCutThenSameIdStarted_FirstProcessFencedAndExits1_RunSucceedsOnTheSecond()
    {
        var slowBeat = new Dictionary<string, string?>
        {
            ["Baton__Engine__LeaseDuration"] = "00:00:30",
            ["Baton__Engine__HeartbeatInterval"] = "00:00:10",
        };
        await using var deployment = await Deployment.CreateAsync(fixture.Cluster);
        var first = deployment.StartNode("dup", slowBeat);
        await first.WaitForReadyAsync();
        var (status, runId) = await first.StartRunAsync("chain", new { steps = 8, stepMs = 1500 });
        Assert.Equal(HttpStatusCode.Accepted, status);
        await Poll.UntilAsync(
            () => deployment.CountAsync($"SELECT count(*) FROM effects.attempts WHERE run_id = '{runId}'"), n => n > 0, "the first step to start", TimeSpan.FromSeconds(30));

        var cut = await deployment.CountAsync($"""
            SELECT count(pg_terminate_backend(pid)) FROM pg_locks
            WHERE locktype = 'advisory' AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('baton:baton:node:{first.NodeId}', 0)
            """);
        var second = deployment.Restart(first, slowBeat);
        await second.WaitForReadyAsync();
        var secondHealth = (await second.HealthAsync()).Body!.Value;
        var exitCode = await first.WaitForExitAsync(TimeSpan.FromSeconds(40));
        deployment.Live.Remove(first);
        await Poll.UntilAsync(
            () => deployment.CountAsync($"SELECT count(*) FROM baton.runs WHERE id = '{runId}' AND status = 10"), n => n == 1, "the run to succeed", TimeSpan.FromSeconds(60));

        Assert.Equal(1, cut);
        Assert.Equal(first.NodeId, secondHealth.GetProperty("nodeId").GetString());
        Assert.Equal(1, exitCode);
        Assert.Contains("Another live process took node id", first.Output, StringComparison.Ordinal);
        Assert.Equal(1, await deployment.CountAsync($"SELECT count(*) FROM effects.done WHERE run_id = '{runId}' AND step = 's8'"));
    }
}
