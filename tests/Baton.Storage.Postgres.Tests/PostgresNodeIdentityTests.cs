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
}
