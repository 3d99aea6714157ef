using Baton.Storage.Postgres.Internal;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// A node id is fenced to one live process by a session advisory lock: the process holding it takes back the
/// leases its earlier process left; anybody else (another node, a second live process with the same id) waits.
/// </summary>
public sealed class PostgresNodeIdentityTests : NodesOnOneSchemaTests
{
    private static async Task<string> CreateLeasedAsync(PostgresBatonStore store, string owner)
    {
        var run = await store.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0 });
        Assert.Contains(await store.Runs.ClaimRunsAsync(Claim(owner, T0)), r => r.Id == run.Run.Id);
        return run.Run.Id;
    }

    private static ClaimRunsRequest Claim(string owner, DateTimeOffset now) =>
        new() { Owner = owner, MaxRuns = 10, Now = now, LeaseExpiresAt = now.AddSeconds(30) };

    [Fact]
    public async Task RecoverLeasesAsync_SameNodeIdHeldByLiveProcess_OwnNameAndNothingReclaimed()
    {
        var first = await NodeAsync();
        Assert.Equal(new LeaseRecoveryResult("node-a", 0), await first.RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", T0)));
        var runId = await CreateLeasedAsync(first, "node-a");
        var second = await NodeAsync();

        var result = await second.RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", T0.AddSeconds(1)));

        Assert.StartsWith("node-a-", result.Owner, StringComparison.Ordinal);
        Assert.Equal(0, result.Reclaimed);
        Assert.Empty(await second.Runs.ClaimRunsAsync(Claim(result.Owner, T0.AddSeconds(1))));
        Assert.Equal(T0.AddSeconds(30), (await second.Runs.GetRunAsync(runId))!.LeaseExpiresAt);
    }

    [Fact]
    public async Task RecoverLeasesAsync_HolderClosed_NextProcessTakesIdAndLeases()
    {
        var first = await NodeAsync();
        await first.RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", T0));
        var runId = await CreateLeasedAsync(first, "node-a");
        Stores.Remove(first);
        await first.DisposeAsync();
        var restarted = await NodeAsync();

        var result = await restarted.RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", T0.AddSeconds(1)));
        var claimed = Assert.Single(await restarted.Runs.ClaimRunsAsync(Claim(result.Owner, T0.AddSeconds(1))));

        Assert.Equal(new LeaseRecoveryResult("node-a", 1), result);
        Assert.Equal(runId, claimed.Id);
        Assert.True(claimed.TakenOver);
    }

    [Fact]
    public async Task RecoverLeasesAsync_LeasesOfAnotherNode_WaitForExpiry()
    {
        var other = await NodeAsync();
        var runId = await CreateLeasedAsync(other, "node-b");
        var starting = await NodeAsync();

        var result = await starting.RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", T0.AddSeconds(1)));
        var early = await starting.Runs.ClaimRunsAsync(Claim("node-a", T0.AddSeconds(1)));
        var expired = await starting.Runs.ClaimRunsAsync(Claim("node-a", T0.AddSeconds(30)));

        Assert.Equal(new LeaseRecoveryResult("node-a", 0), result);
        Assert.Empty(early);
        Assert.Equal(runId, Assert.Single(expired).Id);
    }

    /// <summary>Ends the server session that holds <paramref name="nodeId"/>'s lock, as a failover or a network cut would.</summary>
    private static async Task CutLockSessionAsync(PostgresBatonStore store, string nodeId)
    {
        await using var connection = await store.OpenAsync(CancellationToken.None);
        await using var cut = new Npgsql.NpgsqlCommand(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_locks
            WHERE locktype = 'advisory' AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(@lock, 0)
            """,
            connection);
        cut.Parameters.AddWithValue("lock", PostgresNodeIdentity.LockName(store.Schema, nodeId));
        Assert.Equal(1L, await cut.ExecuteScalarAsync());
    }

    private static RenewLeasesRequest Renew(string owner, string runId, DateTimeOffset now) =>
        new() { Owner = owner, RunIds = [runId], Now = now, LeaseExpiresAt = now.AddSeconds(30) };

    [Fact]
    public async Task LockSessionCut_AnotherProcessTookTheId_FirstIsFencedAtItsNextCheckAndItsHeartbeatThrows()
    {
        // Before: the first process never checked its lock again, and both leased under "node-a" (renewals and writes
        // are fenced by the owner name, which they shared): the same steps ran on two processes at once.
        var first = await NodeAsync();
        await first.RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", T0));
        var runId = await CreateLeasedAsync(first, "node-a");
        await CutLockSessionAsync(first, "node-a");
        var second = await NodeAsync();
        var taken = await second.RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", T0.AddSeconds(1)));

        var renewal = await first.Runs.RenewLeasesAsync(Renew("node-a", runId, T0.AddSeconds(2)));
        var heartbeat = await Assert.ThrowsAsync<NodeIdLostException>(() => first.Nodes.HeartbeatNodeAsync(new NodeHeartbeatRequest
        {
            NodeId = "node-a", Host = "h", ProcessId = 1, Version = "1", Workflows = [], StartedAt = T0, Now = T0.AddSeconds(2),
        }));
        var claimedByFirst = await first.Runs.ClaimRunsAsync(Claim("node-a", T0.AddSeconds(2)));

        Assert.Equal(new LeaseRecoveryResult("node-a", 1), taken);
        Assert.Equal([runId], renewal.Lost);
        Assert.Contains("another live process took node id 'node-a'", heartbeat.Message, StringComparison.Ordinal);
        Assert.Empty(claimedByFirst);
        Assert.Equal(runId, Assert.Single(await second.Runs.ClaimRunsAsync(Claim("node-a", T0.AddSeconds(2)))).Id);
    }

    [Fact]
    public async Task LockSessionCut_NobodyTookTheId_TakenAgainAtTheNextCheckSoASecondProcessGetsItsOwnName()
    {
        var first = await NodeAsync();
        await first.RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", T0));
        var runId = await CreateLeasedAsync(first, "node-a");
        await CutLockSessionAsync(first, "node-a");

        var renewal = await first.Runs.RenewLeasesAsync(Renew("node-a", runId, T0.AddSeconds(2)));
        var second = await NodeAsync();
        var result = await second.RecoverLeasesAsync(new LeaseRecoveryRequest("node-a", T0.AddSeconds(3)));

        Assert.Empty(renewal.Lost);
        Assert.StartsWith("node-a-", result.Owner, StringComparison.Ordinal);
        Assert.Equal(0, result.Reclaimed);
    }
}
