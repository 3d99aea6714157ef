using Baton.Runs;
using Baton.Storage.Postgres.Internal;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// The writer's lanes (two writer connections): each run's writes stay in order under concurrent load on
/// both lanes, renewals split by lane report every run, and a batch that fails by a deadlock (with another session, or
/// with the other lane) is re-run one statement at a time so no caller's write is lost. Batches are made by holding a
/// run's row on another connection: a lane's batch waits on it while the next writes queue up behind it.
/// </summary>
public sealed class PostgresWriterLaneTests : NodesOnOneSchemaTests
{
    private const string Owner = "node-a";

    [Fact]
    public async Task WriteAsync_TwoLanesUnderConcurrentLoad_KeepEachRunsWritesInOrder()
    {
        var store = await NodeAsync(writerConnections: 2);
        Assert.Equal(2, store.Writer.Lanes);
        var ids = await ClaimedRunsAsync(store, 64);
        Assert.Equal(2, ids.Select(store.Writer.LaneOf).Distinct().Count());

        // Every run gets 20 writes queued at once, the last one releasing the lease: a write that ran after the release
        // would be refused (false), and the phase left would not be the last one queued.
        const int writesPerRun = 20;
        var writes = new List<Task<bool>>();
        for (var k = 0; k < writesPerRun; k++)
        {
            foreach (var id in ids)
            {
                writes.Add(k % 5 == 2
                    ? store.Steps.RecordAttemptStartedAsync(new AttemptStartedRequest
                    {
                        RunId = id, Owner = Owner, StepKey = $"s{k}", Kind = StepKind.Step, Attempt = 1, StartedAt = T0.AddSeconds(k),
                    })
                    : store.Runs.UpdateRunAsync(new UpdateRunRequest
                    {
                        RunId = id, Owner = Owner, Now = T0.AddSeconds(k), Phase = $"p{k}", ReleaseLease = k == writesPerRun - 1,
                    }));
            }
        }

        Assert.All(await Task.WhenAll(writes), Assert.True);
        foreach (var id in ids)
        {
            var run = await store.Runs.GetRunAsync(id);
            Assert.Equal($"p{writesPerRun - 1}", run?.Phase);
            Assert.Null(run?.LeaseOwner);
            Assert.Equal(4, (await store.Steps.GetStepsAsync(id)).Count);
        }
    }

    [Fact]
    public async Task RenewLeasesAsync_RunsOnBothLanes_RenewsEachAndReportsLost()
    {
        var store = await NodeAsync(writerConnections: 2);
        var ids = await ClaimedRunsAsync(store, 12);
        var released = ids[0];
        Assert.True(await store.Runs.ReleaseLeaseAsync(new ReleaseLeaseRequest(released, Owner, T0)));

        var result = await store.Runs.RenewLeasesAsync(new RenewLeasesRequest
        {
            Owner = Owner, RunIds = ids, Now = T0, LeaseExpiresAt = T0.AddMinutes(30),
        });

        Assert.Equal([released], result.Lost);
        foreach (var id in ids.Skip(1))
        {
            Assert.Equal(T0.AddMinutes(30), (await store.Runs.GetRunAsync(id))?.LeaseExpiresAt);
        }
    }

    [Fact]
    public async Task WriteAsync_BatchDeadlocksWithAnotherSession_ReRunsEachWriteAndLosesNone()
    {
        var store = await NodeAsync(writerConnections: 2);
        var ids = await ClaimedRunsAsync(store, 40);
        using var totals = new Baton.Testing.MeterTotals(store.Metrics.Meter);
        var lane = ids.Where(id => store.Writer.LaneOf(id) == store.Writer.LaneOf(ids[0])).Take(4).ToList();
        var (gate, a, c, b) = (lane[0], lane[1], lane[2], lane[3]);
        await using var gateHolder = await OpenAsync();
        await using var gateTransaction = await gateHolder.BeginTransactionAsync();
        await LockRowAsync(gateHolder, gate);
        await using var cHolder = await OpenAsync();
        await using var cTransaction = await cHolder.BeginTransactionAsync();
        await LockRowAsync(cHolder, c);
        await using var other = await OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        // The other session looks for deadlocks much later than the lane's (1 s), so the lane's batch is the one failed.
        await ExecuteAsync(other, "SET LOCAL deadlock_timeout = '60s'");
        await LockRowAsync(other, b);

        // The lane's batch waits on the gate row while a's, c's and b's writes queue up behind it as its next batch.
        var gateWrite = Update(store, gate);
        await WaitForLockAsync("@pid = ANY(pg_blocking_pids(pid))", gateHolder.ProcessID);
        var writes = new[] { Update(store, a), Update(store, c), Update(store, b) };
        await gateTransaction.CommitAsync();
        Assert.True(await gateWrite);

        // The batch locks a and waits on c; the other session asks for a and waits on the batch; once c is free the
        // batch asks for b, which the other session holds: a deadlock, found by the batch's backend. The other session
        // writes a column the lane's write leaves alone: once the batch is failed, its wait on a and the lane's re-run
        // of a race for the row (either may go first), and both writes must apply whichever does.
        await WaitForLockAsync("@pid = ANY(pg_blocking_pids(pid))", cHolder.ProcessID);
        var otherWrite = ExecuteAsync(other, $"UPDATE \"{Schema}\".runs SET correlation_id = 'other' WHERE id = '{a}'");
        await WaitForLockAsync("pid = @pid AND cardinality(pg_blocking_pids(pid)) > 0", other.ProcessID);
        await cTransaction.CommitAsync();
        await otherWrite;
        await transaction.CommitAsync();

        Assert.All(await Task.WhenAll(writes), Assert.True);
        foreach (var id in new[] { a, c, b })
        {
            Assert.Equal("lane", (await store.Runs.GetRunAsync(id))?.Phase);
        }

        Assert.Equal("other", (await store.Runs.GetRunAsync(a))?.CorrelationId);

        // The gate, the failed batch of three, and each of its writes again alone.
        Assert.Equal(7, totals["baton.postgres.writer.operations"]);
    }

    [Fact]
    public async Task CreateRunAsync_TwoLanesCreateTheSameIdsInOppositeOrders_EachIdCreatedOnceAndNoWriteIsLost()
    {
        var store = await NodeAsync(writerConnections: 2);
        var gates = await ClaimedRunsAsync(store, 20);
        var gate0 = gates.First(id => store.Writer.LaneOf(id) == 0);
        var gate1 = gates.First(id => store.Writer.LaneOf(id) == 1);
        // Creates with an idempotency key go to that key's lane: two keys per lane, the same two run ids on both lanes.
        var keys = Enumerable.Range(0, 100).Select(i => $"k{i}").ToList();
        var keys0 = keys.Where(k => store.Writer.LaneOf("wf\n" + k) == 0).Take(2).ToList();
        var keys1 = keys.Where(k => store.Writer.LaneOf("wf\n" + k) == 1).Take(2).ToList();
        var (x, y) = (Guid.CreateVersion7().ToString(), Guid.CreateVersion7().ToString());

        // Both lanes wait on a held row while the creates queue up behind them: lane 0 inserts x then y, lane 1 y then x.
        await using var gateHolder = await OpenAsync();
        await using var gateTransaction = await gateHolder.BeginTransactionAsync();
        await LockRowAsync(gateHolder, gate0);
        await LockRowAsync(gateHolder, gate1);
        var gateWrites = new[] { Update(store, gate0), Update(store, gate1) };
        await WaitForLockAsync("@pid = ANY(pg_blocking_pids(pid))", gateHolder.ProcessID, sessions: 2);
        (string Id, string Key)[] requests = [(x, keys0[0]), (y, keys0[1]), (y, keys1[0]), (x, keys1[1])];
        var creates = requests.Select(r => (r.Id, r.Key, Create: Create(store, r.Id, r.Key))).ToList();
        await gateTransaction.CommitAsync();
        Assert.All(await Task.WhenAll(gateWrites), Assert.True);

        // Typically PostgreSQL breaks the lanes' deadlock by failing one batch, which its lane re-runs one create at a
        // time; those re-runs race the other lane's waiting inserts, so which create wins each id varies (one lane may
        // win x and the other y). What holds whatever the interleaving: each id is created by exactly one of its two
        // creates, with that create's key, and the other create gets the clear "already exists" error.
        await Task.WhenAll(creates.Select(c => c.Create.ContinueWith(_ => { }, TaskScheduler.Default)));
        var won = creates.Where(c => c.Create.IsCompletedSuccessfully).ToList();
        Assert.Equal(new[] { x, y }.Order(StringComparer.Ordinal), won.Select(c => c.Id).Order(StringComparer.Ordinal));
        Assert.All(won, c => Assert.Equal(CreateRunOutcome.Created, c.Create.Result.Outcome));
        foreach (var lost in creates.Where(c => !c.Create.IsCompletedSuccessfully))
        {
            Assert.Contains("already exists", lost.Create.Exception!.InnerException!.Message, StringComparison.Ordinal);
        }

        foreach (var (id, key, _) in won)
        {
            Assert.Equal(key, (await store.Runs.GetRunAsync(id))?.IdempotencyKey);
        }
    }

    private static Task<CreateRunResult> Create(PostgresBatonStore store, string id, string idempotencyKey) =>
        store.Runs.CreateRunAsync(new CreateRunRequest { Id = id, Workflow = "wf", Now = T0, IdempotencyKey = idempotencyKey });

    private static Task<bool> Update(PostgresBatonStore store, string id) =>
        store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = id, Owner = Owner, Now = T0, Phase = "lane" });

    /// <summary>Creates and claims <paramref name="count"/> runs for <see cref="Owner"/>; returns their ids.</summary>
    private static async Task<List<string>> ClaimedRunsAsync(PostgresBatonStore store, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add((await store.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0 })).Run.Id);
        }

        Assert.Equal(count, (await store.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = Owner, MaxRuns = count, Now = T0, LeaseExpiresAt = T0.AddMinutes(5),
        })).Count);
        return ids;
    }

    private static async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(PostgresTestDatabase.ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private Task LockRowAsync(NpgsqlConnection connection, string id) =>
        ExecuteAsync(connection, $"SELECT 1 FROM \"{Schema}\".runs WHERE id = '{id}' FOR UPDATE");

    /// <summary>Waits (bounded) until <paramref name="sessions"/> sessions of the server meet <paramref name="condition"/> on their locks (with <c>@pid</c> = <paramref name="pid"/>).</summary>
    private static async Task WaitForLockAsync(string condition, int pid, int sessions = 1)
    {
        await using var connection = await OpenAsync();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(20))
        {
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM pg_stat_activity WHERE {condition}", connection);
            command.Parameters.AddWithValue("pid", pid);
            if ((long)(await command.ExecuteScalarAsync())! >= sessions)
            {
                return;
            }

            // Polls the server's activity view (a state, not a timing rule).
            await Task.Delay(5);
        }

        throw new TimeoutException($"fewer than {sessions} sessions met '{condition}' for session {pid}");
    }
}
