using Baton.Runs;
using Baton.Storage;

namespace Baton.Storage.Conformance;

public abstract partial class StoreConformanceTests
{
    [Fact]
    public async Task ClaimRunsAsync_DueRun_LeasesItToOwner()
    {
        var store = await NewStoreAsync();
        var run = await CreateAsync(store, NewRun());
        var now = T0.AddSeconds(1);

        var claimed = Assert.Single(await ClaimAsync(store, "node-a", now));
        var stored = await GetAsync(store, run.Id);

        Assert.Equal(run.Id, claimed.Id);
        foreach (var r in new[] { claimed, stored })
        {
            Assert.Equal(RunStatus.Running, r.Status);
            Assert.Equal("node-a", r.LeaseOwner);
            Assert.Equal(now.AddSeconds(30), r.LeaseExpiresAt);
            Assert.Equal(1, r.Executions);
            Assert.Equal(now, r.StartedAt);
        }
    }

    [Fact]
    public async Task ClaimRunsAsync_RunAfterInFuture_SkipsRunUntilDue()
    {
        var store = await NewStoreAsync();
        var later = await CreateAsync(store, NewRun() with { RunAfter = T0.AddMinutes(10) });

        var early = await ClaimAsync(store, "node-a", T0.AddMinutes(9));
        var due = await ClaimAsync(store, "node-a", T0.AddMinutes(10));

        Assert.Empty(early);
        Assert.Equal(later.Id, Assert.Single(due).Id);
    }

    [Fact]
    public async Task ClaimRunsAsync_WorkflowFilter_ClaimsOnlyListedWorkflows()
    {
        var store = await NewStoreAsync();
        var mine = await CreateAsync(store, NewRun("sync"));
        var other = await CreateAsync(store, NewRun("report"));

        var filtered = await store.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = "node-a", MaxRuns = 10, Now = T0, LeaseExpiresAt = T0.AddSeconds(30), Workflows = ["sync", "other"],
        });
        var none = await store.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = "node-a", MaxRuns = 10, Now = T0, LeaseExpiresAt = T0.AddSeconds(30), Workflows = [],
        });
        var any = await ClaimAsync(store, "node-b", T0);

        Assert.Equal(mine.Id, Assert.Single(filtered).Id);
        Assert.Empty(none);
        Assert.Equal(other.Id, Assert.Single(any).Id);
    }

    [Fact]
    public async Task ClaimRunsAsync_MaxRuns_ClaimsAtMostThatManyOldestFirst()
    {
        var store = await NewStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await CreateAsync(store, NewRun() with { RunAfter = T0.AddSeconds(-5 + i) })).Id);
        }

        var first = await ClaimAsync(store, "node-a", T0, maxRuns: 2);
        var second = await ClaimAsync(store, "node-a", T0, maxRuns: 2);

        Assert.Equal(ids.Take(2), first.Select(r => r.Id));
        Assert.Equal(ids.Skip(2).Take(2), second.Select(r => r.Id));
    }

    [Fact]
    public async Task ClaimRunsAsync_TwoOwnersConcurrently_NeverClaimSameRun()
    {
        var store = await NewStoreAsync();
        await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => store.Runs.CreateRunAsync(NewRun())));

        async Task<List<string>> DrainAsync(string owner)
        {
            var mine = new List<string>();
            // Bounded so that a store which hands out leased runs fails the test instead of looping.
            for (var round = 0; round < 200; round++)
            {
                var claimed = await ClaimAsync(store, owner, T0, maxRuns: 3);
                if (claimed.Count == 0)
                {
                    return mine;
                }

                Assert.All(claimed, r => Assert.Equal(owner, r.LeaseOwner));
                mine.AddRange(claimed.Select(r => r.Id));
            }

            return mine;
        }

        var results = await Task.WhenAll(Task.Run(() => DrainAsync("node-a")), Task.Run(() => DrainAsync("node-b")));

        Assert.Empty(results[0].Intersect(results[1]));
        Assert.Equal(100, results[0].Concat(results[1]).Distinct().Count());
        Assert.Equal(100, results[0].Count + results[1].Count);
    }

    [Fact]
    public async Task ClaimRunsAsync_LeasedRun_IsNotClaimedAgainBeforeExpiry()
    {
        var store = await NewStoreAsync();
        await CreateClaimedAsync(store, "node-a");

        var other = await ClaimAsync(store, "node-b", T0.AddSeconds(29));

        Assert.Empty(other);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClaimRunsAsync_ExpiredLease_IsTakenOverAndExecutionsIncrement(bool leasedAtCreate)
    {
        var store = await NewStoreAsync();
        // Held by node-a until T0 + 30 s: claimed after its creation, or created with the lease (a local start).
        var run = leasedAtCreate
            ? await CreateAsync(store, NewRun() with { LeaseOwner = "node-a", LeaseExpiresAt = T0.AddSeconds(30) })
            : await CreateClaimedAsync(store, "node-a");

        var takeover = Assert.Single(await ClaimAsync(store, "node-b", T0.AddSeconds(30)));

        Assert.Equal(run.Id, takeover.Id);
        Assert.Equal("node-b", takeover.LeaseOwner);
        Assert.Equal(2, takeover.Executions);
        Assert.Equal(T0, takeover.StartedAt);
        Assert.True(takeover.TakenOver);
        Assert.False(run.TakenOver);
    }

    [Fact]
    public async Task UpdateRunAsync_AfterTakeover_ReturnsFalseAndChangesNothing()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await ClaimAsync(store, "node-b", T0.AddSeconds(31));
        var before = await GetAsync(store, run.Id);

        var applied = await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id,
            Owner = "node-a",
            Now = T0.AddSeconds(32),
            Status = RunStatus.Succeeded,
            Phase = "stale",
            Output = "\"stale\"",
            ReleaseLease = true,
        });

        Assert.False(applied);
        AssertSameRun(before, await GetAsync(store, run.Id));
    }

    [Fact]
    public async Task RecordAttemptEndedAsync_AfterTakeover_ReturnsFalseAndWritesNothing()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        await ClaimAsync(store, "node-b", T0.AddSeconds(31));

        var applied = await store.Steps.RecordAttemptEndedAsync(new AttemptEndedRequest
        {
            RunId = run.Id,
            Owner = "node-a",
            StepKey = "fetch",
            Kind = StepKind.Step,
            Attempt = 1,
            StartedAt = T0.AddSeconds(1),
            EndedAt = T0.AddSeconds(32),
            Outcome = AttemptOutcome.Succeeded,
            StepStatus = StepStatus.Succeeded,
            Result = "1",
        });

        Assert.False(applied);
        Assert.Empty(await store.Steps.GetStepsAsync(run.Id));
        Assert.Empty(await store.Steps.GetAttemptsAsync(run.Id));
    }

    [Fact]
    public async Task ClaimRunsAsync_CompensatingRun_StaysCompensating()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(1), Status = RunStatus.Compensating, ReleaseLease = true,
        }));

        var claimed = Assert.Single(await ClaimAsync(store, "node-b", T0.AddSeconds(2)));

        Assert.Equal(RunStatus.Compensating, claimed.Status);
        Assert.Equal("node-b", claimed.LeaseOwner);
    }

    [Fact]
    public async Task ClaimRunsAsync_FinishedRuns_AreNeverClaimed()
    {
        var store = await NewStoreAsync();
        foreach (var status in new[] { RunStatus.Succeeded, RunStatus.Failed, RunStatus.Cancelled, RunStatus.Compensated, RunStatus.CompensationFailed })
        {
            var run = await CreateClaimedAsync(store, "node-a");
            await FinishAsync(store, run.Id, "node-a", status, T0.AddSeconds(1));
        }

        var claimed = await ClaimAsync(store, "node-b", T0.AddHours(1));

        Assert.Empty(claimed);
    }

    [Fact]
    public async Task ClaimRunsAsync_SuspendedRun_BecomesRunningWhenDue()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(1),
            Status = RunStatus.Suspended, RunAfter = T0.AddMinutes(5), ReleaseLease = true,
        }));

        var early = await ClaimAsync(store, "node-b", T0.AddMinutes(4));
        var due = Assert.Single(await ClaimAsync(store, "node-b", T0.AddMinutes(5)));

        Assert.Empty(early);
        Assert.Equal(RunStatus.Running, due.Status);
        Assert.Equal(2, due.Executions);
    }

    [Fact]
    public async Task RenewLeasesAsync_OwnedRuns_ExtendsLease()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");

        var result = await store.Runs.RenewLeasesAsync(new RenewLeasesRequest
        {
            Owner = "node-a", RunIds = [run.Id], Now = T0.AddSeconds(20), LeaseExpiresAt = T0.AddSeconds(50),
        });

        Assert.Empty(result.Lost);
        Assert.Empty(result.CancelRequested);
        Assert.Equal(T0.AddSeconds(50), (await GetAsync(store, run.Id)).LeaseExpiresAt);
        Assert.Empty(await ClaimAsync(store, "node-b", T0.AddSeconds(40)));
    }

    [Fact]
    public async Task RenewLeasesAsync_TakenOverOrFinished_ReportsLost()
    {
        var store = await NewStoreAsync();
        var kept = await CreateClaimedAsync(store, "node-a");
        var finished = await CreateClaimedAsync(store, "node-a");
        var takenOver = await CreateClaimedAsync(store, "node-a");
        await FinishAsync(store, finished.Id, "node-a", RunStatus.Succeeded, T0.AddSeconds(1));
        Assert.True(await store.Runs.RenewLeasesAsync(new RenewLeasesRequest
        {
            Owner = "node-a", RunIds = [kept.Id], Now = T0.AddSeconds(20), LeaseExpiresAt = T0.AddSeconds(60),
        }) is { Lost.Count: 0 });
        Assert.Equal(takenOver.Id, Assert.Single(await ClaimAsync(store, "node-b", T0.AddSeconds(30))).Id);
        var unknown = NewId();

        var result = await store.Runs.RenewLeasesAsync(new RenewLeasesRequest
        {
            Owner = "node-a", RunIds = [kept.Id, finished.Id, takenOver.Id, unknown],
            Now = T0.AddSeconds(40), LeaseExpiresAt = T0.AddSeconds(70),
        });

        Assert.Equal(new[] { finished.Id, takenOver.Id, unknown }.Order(), result.Lost.Order());
        Assert.Equal("node-b", (await GetAsync(store, takenOver.Id)).LeaseOwner);
        Assert.Equal(T0.AddSeconds(60), (await GetAsync(store, takenOver.Id)).LeaseExpiresAt);
    }

    [Fact]
    public async Task RenewLeasesAsync_CancelRequested_ReportsIt()
    {
        var store = await NewStoreAsync();
        var cancelled = await CreateClaimedAsync(store, "node-a");
        var other = await CreateClaimedAsync(store, "node-a");
        await store.Runs.CancelRunAsync(new CancelRunRequest(cancelled.Id, T0.AddSeconds(1)));

        var result = await store.Runs.RenewLeasesAsync(new RenewLeasesRequest
        {
            Owner = "node-a", RunIds = [cancelled.Id, other.Id], Now = T0.AddSeconds(2), LeaseExpiresAt = T0.AddSeconds(40),
        });

        Assert.Empty(result.Lost);
        Assert.Equal(cancelled.Id, Assert.Single(result.CancelRequested));
    }

    [Fact]
    public async Task ReleaseLeaseAsync_Owner_ClearsLeaseKeepsStatus()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");

        var released = await store.Runs.ReleaseLeaseAsync(new ReleaseLeaseRequest(run.Id, "node-a", T0.AddSeconds(1)));
        var stored = await GetAsync(store, run.Id);

        Assert.True(released);
        Assert.Null(stored.LeaseOwner);
        Assert.Null(stored.LeaseExpiresAt);
        Assert.Equal(RunStatus.Running, stored.Status);
        var reclaimed = Assert.Single(await ClaimAsync(store, "node-b", T0.AddSeconds(2)));
        Assert.Equal(run.Id, reclaimed.Id);
        Assert.False(reclaimed.TakenOver);
    }

    [Fact]
    public async Task ReleaseLeaseAsync_NotOwner_ReturnsFalseAndKeepsLease()
    {
        var store = await NewStoreAsync();
        var run = await CreateClaimedAsync(store, "node-a");

        var released = await store.Runs.ReleaseLeaseAsync(new ReleaseLeaseRequest(run.Id, "node-b", T0.AddSeconds(1)));

        Assert.False(released);
        Assert.Equal("node-a", (await GetAsync(store, run.Id)).LeaseOwner);
    }
}
