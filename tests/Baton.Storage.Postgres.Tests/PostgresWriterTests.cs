using Baton.Runs;
using Baton.Storage.Postgres.Internal;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>Group commit of the hot writes: shared commits, and a bad write fails only its own caller.</summary>
public sealed class PostgresWriterTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly PostgresTestDatabase _database = new();
    private PostgresBatonStore? _store;

    public Task InitializeAsync() => PostgresTestDatabase.EnsureDatabaseAsync();

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    [Fact]
    public async Task WriteAsync_BadWriteInQueuedBatch_FailsOnlyItsCaller()
    {
        _store = await _database.NewInitializedStoreAsync(_database.NewSchema(), writerConnections: 2);
        var store = _store;
        var ids = await ClaimedRunsAsync(store, 21);

        // Another connection holds the first run's row: the writer's next batch waits on it while the rest queue up.
        await using var hold = await HeldRow.LockAsync(store, ids[0]);
        var blocked = store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = ids[0], Owner = "node-a", Now = T0.AddSeconds(1), Phase = "first" });
        var good = ids.Skip(1).Select(id => StartAttemptAsync(store, id, "fetch")).ToList();
        // This statement fails at the bind wherever it runs (on the blocked run's lane, so it joins the batch queued
        // behind the blocked write).
        var bad = StartRejectedAttemptAsync(store, ids.Skip(1).First(id => store.Writer.LaneOf(id) == store.Writer.LaneOf(ids[0])));
        await hold.CommitAsync();

        Assert.True(await blocked);
        Assert.All(await Task.WhenAll(good), Assert.True);
        await Assert.ThrowsAnyAsync<Exception>(() => bad);
        Assert.Equal("first", (await store.Runs.GetRunAsync(ids[0]))?.Phase);
        foreach (var id in ids.Skip(1))
        {
            Assert.Equal("fetch", Assert.Single(await store.Steps.GetStepsAsync(id)).Key);
        }
    }

    [Fact]
    public async Task WriteAsync_BadWriteIsItsStatementsFirstPreparedRun_LaterWritesOfItSucceed()
    {
        // Npgsql prepares a statement on its fifth use on a connection (the store sets Max Auto Prepare; Auto Prepare
        // Min Usages is 5). Here the bad write is that fifth use: it fails at the bind, after PostgreSQL has parsed the
        // statement but before Npgsql has learnt its result columns. Without the store's care the connection then
        // goes back to the pool holding the statement as prepared with no result columns, and the next attempt start
        // on it (the good write's re-run) fails with "Received unexpected backend message DataRow".
        _store = await _database.NewInitializedStoreAsync(_database.NewSchema());
        var store = _store;
        var ids = await ClaimedRunsAsync(store, 7);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(await StartAttemptAsync(store, ids[i], "fetch"));
        }

        await using var hold = await HeldRow.LockAsync(store, ids[4]);
        var blocked = store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = ids[4], Owner = "node-a", Now = T0.AddSeconds(1), Phase = "first" });
        var bad = StartRejectedAttemptAsync(store, ids[5]);
        var good = StartAttemptAsync(store, ids[6], "fetch");
        await hold.CommitAsync();

        Assert.True(await blocked);
        Assert.Equal("22021", (await Assert.ThrowsAsync<PostgresException>(() => bad)).SqlState);
        Assert.True(await good);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(await StartAttemptAsync(store, ids[i], "after"));
        }

        Assert.Empty(await store.Steps.GetStepsAsync(ids[5]));
        Assert.Equal("fetch", Assert.Single(await store.Steps.GetStepsAsync(ids[6])).Key);
        Assert.Equal(["after", "fetch"], (await store.Steps.GetStepsAsync(ids[0])).Select(s => s.Key).Order());
    }

    [Fact]
    public async Task CreateRunAsync_BatchCommittedButAnswerLost_EachCallerToldCreated()
    {
        // Before: the connection broke after the batch of two creates had committed, the lane re-ran each create alone,
        // its insert met the run the batch had stored, and both callers got "A run with id '...' already exists" for runs
        // that were created (and would run): a client told its start failed starts it again, a second run.
        await using var proxy = new AnswerLosingProxy(PostgresTestDatabase.ConnectionString);
        await using var store = await proxy.NewStoreAsync(_database.NewSchema());
        var ids = await ClaimedRunsAsync(store, 1);

        // The lane waits on a held row while the two creates queue up behind it: they go as one batch.
        await using var hold = await HeldRow.LockAsync(store, ids[0]);
        var blocked = store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = ids[0], Owner = "node-a", Now = T0.AddSeconds(1), Phase = "first" });
        var requests = new[] { "{\"n\":1}", "{\"n\":2}" }
            .Select(input => new CreateRunRequest { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Input = input, Now = T0 })
            .ToArray();
        proxy.CutAfterCommit(requests[0].Id);
        var creates = requests.Select(r => store.Runs.CreateRunAsync(r)).ToArray();
        await hold.CommitAsync();

        Assert.True(await blocked);
        var results = await Task.WhenAll(creates);
        Assert.True(proxy.Cut.Task.IsCompleted, "the batch's answer was never dropped");
        for (var i = 0; i < requests.Length; i++)
        {
            Assert.Equal(CreateRunOutcome.Created, results[i].Outcome);
            Assert.Equal(requests[i].Id, results[i].Run.Id);
            Assert.Equal(requests[i].Input, (await store.Runs.GetRunAsync(requests[i].Id))?.Input);
        }

        Assert.Equal(3, (await store.Runs.ListRunsAsync(new ListRunsRequest())).Runs.Count);
    }

    [Fact]
    public async Task UpdateRunAsync_ReleasingBatchCommittedButAnswerLost_EachCallerToldWritten()
    {
        // Before: the connection broke after a batch with a run's end (releasing its lease) and a lease release had
        // committed; the lane re-ran each alone, found the leases already released and answered false: the engine took
        // the stored end for a lost lease (logged "lease lost", no run-end metric, a parent child-wait woken only by its
        // 5-minute recheck).
        await using var proxy = new AnswerLosingProxy(PostgresTestDatabase.ConnectionString);
        await using var store = await proxy.NewStoreAsync(_database.NewSchema());
        var ids = await ClaimedRunsAsync(store, 3);

        await using var hold = await HeldRow.LockAsync(store, ids[0]);
        proxy.CutAfterCommit(ids[1]);
        var blocked = store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = ids[0], Owner = "node-a", Now = T0.AddSeconds(1), Phase = "first" });
        var end = store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = ids[1], Owner = "node-a", Now = T0.AddSeconds(2), Status = RunStatus.Succeeded, Output = "42", ReleaseLease = true,
        });
        var release = store.Runs.ReleaseLeaseAsync(new ReleaseLeaseRequest(ids[2], "node-a", T0.AddSeconds(2)));
        await hold.CommitAsync();

        Assert.True(await blocked);
        Assert.True(await end);
        Assert.True(await release);
        Assert.True(proxy.Cut.Task.IsCompleted, "the batch's answer was never dropped");
        var ended = await store.Runs.GetRunAsync(ids[1]);
        Assert.Equal(RunStatus.Succeeded, ended?.Status);
        Assert.Equal("42", ended?.Output);
        Assert.Null(ended?.LeaseOwner);
        Assert.Null((await store.Runs.GetRunAsync(ids[2]))?.LeaseOwner);
    }

    [Fact]
    public async Task Metrics_Writes_CountOperationsCommitsAndBusyTime()
    {
        _store = await _database.NewInitializedStoreAsync(_database.NewSchema());
        var store = _store;
        using var totals = new Baton.Testing.MeterTotals(store.Metrics.Meter);

        // 20 writes at once (grouped into fewer commits) and 10 one after another (a commit each).
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => store.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0 })));
        for (var i = 0; i < 10; i++)
        {
            await store.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0 });
        }

        Assert.Equal(30, totals["baton.postgres.writer.operations"]);
        Assert.InRange(totals["baton.postgres.writer.commits"], 11, 30);
        Assert.True(totals["baton.postgres.writer.busy"] > 0, "the writer's busy time was not recorded");
    }

    /// <summary>Creates <paramref name="count"/> runs and claims them for node-a; returns their ids.</summary>
    private static async Task<List<string>> ClaimedRunsAsync(PostgresBatonStore store, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add((await store.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0 })).Run.Id);
        }

        Assert.Equal(count, (await store.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = "node-a", MaxRuns = 50, Now = T0, LeaseExpiresAt = T0.AddMinutes(5),
        })).Count);
        return ids;
    }

    private static Task<bool> StartAttemptAsync(PostgresBatonStore store, string runId, string stepKey) =>
        store.Steps.RecordAttemptStartedAsync(new AttemptStartedRequest
        {
            RunId = runId, Owner = "node-a", StepKey = stepKey, Kind = StepKind.Step, Attempt = 1, StartedAt = T0.AddSeconds(1),
        });

    /// <summary>
    /// An attempt start that PostgreSQL rejects at the bind (SQLSTATE 22021): its step key holds U+0000, set on the
    /// built statement past the store's own refusal of such values, as a bind failure of any other cause would come.
    /// </summary>
    private static Task<bool> StartRejectedAttemptAsync(PostgresBatonStore store, string runId)
    {
        var command = ((PostgresStepStore)store.Steps).StartedCommand(new AttemptStartedRequest
        {
            RunId = runId, Owner = "node-a", StepKey = "bad", Kind = StepKind.Step, Attempt = 1, StartedAt = T0.AddSeconds(1),
        });
        command.Parameters["key"].Value = "bad\0key";
        return store.Writer.WriteAsync(runId, command, _ => Task.FromResult(true), CancellationToken.None);
    }

    /// <summary>A run's row held by a transaction of another connection: the lane's write of that run waits until <see cref="CommitAsync"/>.</summary>
    private sealed class HeldRow(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public static async Task<HeldRow> LockAsync(PostgresBatonStore store, string runId)
        {
            var connection = new NpgsqlConnection(PostgresTestDatabase.ConnectionString);
            await connection.OpenAsync();
            var transaction = await connection.BeginTransactionAsync();
            await using var lockRow = new NpgsqlCommand($"SELECT 1 FROM \"{store.Schema}\".runs WHERE id = @id FOR UPDATE", connection, transaction);
            lockRow.Parameters.AddWithValue("id", runId);
            await lockRow.ExecuteScalarAsync();
            return new HeldRow(connection, transaction);
        }

        public Task CommitAsync() => transaction.CommitAsync();

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
