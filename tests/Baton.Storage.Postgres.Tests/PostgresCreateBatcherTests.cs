using Baton.Runs;
using Baton.Storage.Postgres.Internal;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// Group commit of creates with a concurrency key: the limit holds across nodes and inside one batch, an idempotency
/// key is one run even twice in a batch, a bad create fails only its caller, and a key locked elsewhere stalls only
/// keyed creates, never the writer's hot writes. Batches are made by holding a key's advisory lock on another
/// connection: the batcher's first transaction waits on it while the next creates queue up behind it.
/// </summary>
public sealed class PostgresCreateBatcherTests : NodesOnOneSchemaTests
{
    private static CreateRunRequest NewRun(string concurrencyKey, int limit = 1) => new()
    {
        Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0, ConcurrencyKey = concurrencyKey, ConcurrencyLimit = limit,
    };

    /// <summary>Holds the advisory lock the store takes for <paramref name="concurrencyKey"/> until disposed.</summary>
    private async Task<NpgsqlConnection> HoldKeyAsync(string concurrencyKey)
    {
        // Not pooled: closing must end the session, and with it the lock.
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(PostgresTestDatabase.ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended(@lock, 0))", connection);
        command.Parameters.AddWithValue("lock", $"baton:{Schema}:concurrency:{concurrencyKey}");
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    /// <summary>
    /// Stalls each node's batcher on a create of the key "gate", whose lock another session holds: what is created next
    /// queues into one batch per node, sent when the returned session is disposed. Also returns the gate creates.
    /// </summary>
    private async Task<(NpgsqlConnection Held, Task<CreateRunResult[]> Gates)> StallBatchersAsync(params PostgresBatonStore[] nodes)
    {
        var held = await HoldKeyAsync("gate");
        var gates = Task.WhenAll(nodes.Select(n => n.Runs.CreateRunAsync(NewRun("gate"))));
        await WaitForLockWaitersAsync(nodes.Length);
        return (held, gates);
    }

    /// <summary>Waits (bounded) until <paramref name="waiters"/> sessions wait on the lock of the key "gate": their batches have reached it.</summary>
    private async Task WaitForLockWaitersAsync(int waiters)
    {
        await using var connection = new NpgsqlConnection(PostgresTestDatabase.ConnectionString);
        await connection.OpenAsync();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(20))
        {
            // A bigint advisory key shows in pg_locks as its high half (classid) and low half (objid).
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted " +
                "AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(@lock, 0)",
                connection);
            command.Parameters.AddWithValue("lock", $"baton:{Schema}:concurrency:gate");
            if ((long)(await command.ExecuteScalarAsync())! >= waiters)
            {
                return;
            }

            // Polls the server's lock table (a state, not a timing rule).
            await Task.Delay(5);
        }

        throw new TimeoutException("the create batch never waited on the held key");
    }

    private async Task<long> CountAsync(string where)
    {
        await using var connection = new NpgsqlConnection(PostgresTestDatabase.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM \"{Schema}\".runs WHERE {where}", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task CreateRunAsync_KeyedBurstsFromTwoNodes_NeverExceedLimit()
    {
        var nodes = new[] { await NodeAsync(), await NodeAsync() };
        var (held, gates) = await StallBatchersAsync(nodes);

        var burst = Enumerable.Range(0, 80).Select(i => nodes[i % 2].Runs.CreateRunAsync(NewRun("tenant", limit: 3))).ToList();
        await held.DisposeAsync();
        var results = await Task.WhenAll(burst);

        var created = results.Where(r => r.Outcome == CreateRunOutcome.Created).Select(r => r.Run.Id).ToList();
        Assert.Equal(3, created.Count);
        Assert.All(results.Where(r => r.Outcome != CreateRunOutcome.Created), r =>
        {
            Assert.Equal(CreateRunOutcome.Conflict, r.Outcome);
            Assert.Contains(r.Run.Id, created);
        });
        Assert.Equal(3, await CountAsync("concurrency_key = 'tenant'"));
        Assert.Single(await gates, r => r.Outcome == CreateRunOutcome.Created);
    }

    [Fact]
    public async Task CreateRunAsync_SameIdempotencyKeyTwiceInOneBatch_CreatesOneRun()
    {
        var store = await NodeAsync();
        var (held, gate) = await StallBatchersAsync(store);

        var burst = Enumerable.Range(0, 10)
            .Select(i => store.Runs.CreateRunAsync(NewRun($"k{i}") with { IdempotencyKey = "order-7" }))
            .ToList();
        await held.DisposeAsync();
        var results = await Task.WhenAll(burst);

        var created = Assert.Single(results, r => r.Outcome == CreateRunOutcome.Created);
        Assert.All(results, r => Assert.Equal(created.Run.Id, r.Run.Id));
        Assert.Equal(1, await CountAsync("idempotency_key = 'order-7'"));
        Assert.Equal(CreateRunOutcome.Created, Assert.Single(await gate).Outcome);
    }

    [Fact]
    public async Task CreateRunAsync_BadCreateInKeyedBatch_FailsOnlyItsCaller()
    {
        var store = await NodeAsync();
        var (held, gate) = await StallBatchersAsync(store);

        var good = Enumerable.Range(0, 20).Select(i => store.Runs.CreateRunAsync(NewRun($"k{i}"))).ToList();
        // A workflow name too long for its index (54000, "index row size exceeds maximum"): this create fails wherever
        // it runs. (A NUL character, used here before, is now refused before the create is queued.)
        var bad = store.Runs.CreateRunAsync(NewRun("k-bad") with { Workflow = string.Concat(Enumerable.Range(0, 400).Select(_ => Guid.NewGuid().ToString("N"))) });
        await held.DisposeAsync();

        Assert.All(await Task.WhenAll(good), r => Assert.Equal(CreateRunOutcome.Created, r.Outcome));
        await Assert.ThrowsAnyAsync<Exception>(() => bad);
        Assert.Equal(0, await CountAsync("concurrency_key = 'k-bad'"));
        Assert.Equal(20, await CountAsync("concurrency_key LIKE 'k%'"));
        Assert.Equal(CreateRunOutcome.Created, Assert.Single(await gate).Outcome);
    }

    [Fact]
    public async Task CreateRunAsync_KeyedBatchCommittedButAnswerLost_EachCallerToldCreated()
    {
        // Before: the connection broke after the batch had committed, the batcher re-ran each create alone, and its count
        // met the run the batch had stored: each caller got Conflict naming its own run as the key's holder (a 409 for a
        // start that succeeded).
        await using var proxy = new AnswerLosingProxy(PostgresTestDatabase.ConnectionString);
        await using var store = await proxy.NewStoreAsync(Schema);
        var (held, gate) = await StallBatchersAsync(store);
        var requests = new[] { NewRun("k-1"), NewRun("k-2") };
        proxy.CutAfterCommit(requests[0].Id);
        var creates = requests.Select(r => store.Runs.CreateRunAsync(r)).ToArray();
        await held.DisposeAsync();

        Assert.Equal(CreateRunOutcome.Created, Assert.Single(await gate).Outcome);
        var results = await Task.WhenAll(creates);
        Assert.True(proxy.Cut.Task.IsCompleted, "the batch's answer was never dropped");
        for (var i = 0; i < requests.Length; i++)
        {
            Assert.Equal(CreateRunOutcome.Created, results[i].Outcome);
            Assert.Equal(requests[i].Id, results[i].Run.Id);
        }

        Assert.Equal(2, await CountAsync("concurrency_key LIKE 'k-%'"));
    }

    [Fact]
    public async Task CreateRunAsync_KeyLockedByOtherSession_DoesNotStallHotWrites()
    {
        var store = await NodeAsync();
        var (held, keyed) = await StallBatchersAsync(store);

        // Creates without a key, and a worker's write, go through the writer while the keyed create waits.
        var plain = await store.Runs.CreateRunAsync(new CreateRunRequest
        {
            Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0, LeaseOwner = "node-a", LeaseExpiresAt = T0.AddMinutes(5),
        });
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = plain.Run.Id, Owner = "node-a", Now = T0, Phase = "p" }));
        Assert.False(keyed.IsCompleted);

        await held.DisposeAsync();
        Assert.Equal(CreateRunOutcome.Created, Assert.Single(await keyed).Outcome);
    }
}
