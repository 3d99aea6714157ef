using Baton.Hosting;
using Baton.Runs;
using Baton.Storage.Postgres.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// What only PostgreSQL has to prove: migrations under concurrent start-up, clear connection errors, and the
/// cross-node rules with two store instances (two connection pools, as two nodes would have).
/// </summary>
public sealed class PostgresStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly PostgresTestDatabase _database = new();
    private readonly List<PostgresBatonStore> _stores = [];

    public Task InitializeAsync() => PostgresTestDatabase.EnsureDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private PostgresBatonStore Node(string schema)
    {
        var store = PostgresTestDatabase.NewStore(schema);
        _stores.Add(store);
        return store;
    }

    private static CreateRunRequest NewRun() => new() { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0 };

    private static async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(PostgresTestDatabase.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task InitializeAsync_SecondStartOnSameSchema_IsNoOpAndKeepsData()
    {
        var schema = _database.NewSchema();
        var first = Node(schema);
        await first.InitializeAsync();
        var run = await first.Runs.CreateRunAsync(NewRun());

        var second = Node(schema);
        await second.InitializeAsync();
        await second.InitializeAsync();

        Assert.Equal(PostgresMigrations.All.Count, await ScalarAsync($"SELECT count(*) FROM \"{schema}\".schema_version"));
        Assert.Equal(run.Run.Id, (await second.Runs.GetRunAsync(run.Run.Id))?.Id);
    }

    [Fact]
    public async Task InitializeAsync_ManyNodesAtOnce_AppliesEachMigrationOnce()
    {
        var schema = _database.NewSchema();
        var nodes = Enumerable.Range(0, 8).Select(_ => Node(schema)).ToList();

        await Task.WhenAll(nodes.Select(n => Task.Run(() => n.InitializeAsync())));

        Assert.Equal(PostgresMigrations.All.Count, await ScalarAsync($"SELECT count(*) FROM \"{schema}\".schema_version"));
        Assert.Equal(PostgresMigrations.All.Count, await ScalarAsync($"SELECT max(version) FROM \"{schema}\".schema_version"));
        await Task.WhenAll(nodes.Select(n => n.PingAsync()));
    }

    [Fact]
    public async Task InitializeAsync_SchemaAtVersion11WithANode_AddsWorkflowVersionsAndKeepsTheNode()
    {
        var schema = _database.NewSchema();
        var old = Node(schema);
        await old.InitializeAsync();
        var beat = new NodeHeartbeatRequest
        {
            NodeId = "n1", Host = "h", ProcessId = 1, Version = "v", Workflows = ["orders"], StartedAt = T0, Now = T0,
        };
        await old.Nodes.HeartbeatNodeAsync(beat);
        // Back to what a version-11 node left: its row without the versions column.
        await ScalarAsync($"""
            ALTER TABLE "{schema}".nodes DROP COLUMN workflow_versions;
            DELETE FROM "{schema}".schema_version WHERE version > 11;
            SELECT 1
            """);

        var upgraded = Node(schema);
        await upgraded.InitializeAsync();
        var kept = Assert.Single(await upgraded.Nodes.ListNodesAsync(new ListNodesRequest(T0)));
        await upgraded.Nodes.HeartbeatNodeAsync(beat with { Now = T0.AddSeconds(10), WorkflowVersions = [new NodeWorkflowVersions("orders", 2, [1])] });
        var renewed = Assert.Single(await upgraded.Nodes.ListNodesAsync(new ListNodesRequest(T0)));

        Assert.Equal(PostgresMigrations.All.Count, await ScalarAsync($"SELECT max(version) FROM \"{schema}\".schema_version"));
        Assert.Equal(["orders"], kept.Workflows);
        Assert.Null(kept.WorkflowVersions);
        Assert.Equal(["orders v2 (resumes v1)"], renewed.WorkflowVersions!.Select(w => w.Describe()));
    }

    [Fact]
    public async Task InitializeAsync_SchemaAtVersion1_MigratesToLatestAndKeepsRuns()
    {
        var schema = _database.NewSchema();
        var old = Node(schema);
        await old.InitializeAsync();
        var run = await old.Runs.CreateRunAsync(NewRun());
        // Back to what a version-1 node left: no nodes or events table, the old claim index, no retry time on attempts,
        // version 1 recorded.
        await ScalarAsync($"""
            INSERT INTO "{schema}".step_attempts (run_id, step_key, attempt, started_at, ended_at, outcome, error_type, error_message)
                VALUES ('{run.Run.Id}', 'old', 1, '{T0:O}', '{T0.AddSeconds(1):O}', {(int)AttemptOutcome.Failed}, 'E', 'm');
            ALTER TABLE "{schema}".step_attempts DROP COLUMN retry_at;
            DROP TABLE "{schema}".nodes;
            DROP TABLE "{schema}".run_events;
            DROP INDEX "{schema}".ix_runs_workflow_status;
            DROP INDEX "{schema}".ix_runs_parent;
            ALTER TABLE "{schema}".runs DROP COLUMN parent_run_id;
            ALTER TABLE "{schema}".runs DROP COLUMN workflow_version;
            ALTER TABLE "{schema}".runs DROP COLUMN trace_parent;
            ALTER TABLE "{schema}".runs DROP COLUMN trace_state;
            ALTER TABLE "{schema}".runs DROP COLUMN claim_token;
            ALTER TABLE "{schema}".runs DROP COLUMN wakes_on;
            DROP INDEX "{schema}".ix_runs_claimable;
            DROP INDEX "{schema}".ix_runs_leased;
            CREATE INDEX ix_runs_runnable ON "{schema}".runs (run_after, id) WHERE status < 10;
            DELETE FROM "{schema}".schema_version WHERE version > 1;
            SELECT 1
            """);

        var upgraded = Node(schema);
        await upgraded.InitializeAsync();
        await upgraded.Nodes.HeartbeatNodeAsync(new NodeHeartbeatRequest
        {
            NodeId = "n1", Host = "h", ProcessId = 1, Version = "v", StartedAt = DateTimeOffset.UnixEpoch, Now = DateTimeOffset.UnixEpoch,
        });

        Assert.Equal(PostgresMigrations.All.Count, await ScalarAsync($"SELECT max(version) FROM \"{schema}\".schema_version"));
        Assert.Single(await upgraded.Nodes.ListNodesAsync(new ListNodesRequest(DateTimeOffset.UnixEpoch)));
        Assert.Equal(run.Run.Id, (await upgraded.Runs.GetRunAsync(run.Run.Id))?.Id);
        // Migration 6 added the workflow version: a run stored before it reads as version 1.
        Assert.Equal(1, (await upgraded.Runs.GetRunAsync(run.Run.Id))?.WorkflowVersion);
        Assert.Equal(SendEventOutcome.Stored, (await upgraded.Events.SendEventAsync(new SendEventRequest { RunId = run.Run.Id, Name = "e", Now = DateTimeOffset.UnixEpoch })).Outcome);
        Assert.Equal(2L, await ScalarAsync($"SELECT count(*) FROM pg_indexes WHERE schemaname = '{schema}' AND indexname IN ('ix_runs_claimable', 'ix_runs_leased')"));
        Assert.Equal(run.Run.Id, Assert.Single(await upgraded.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = "n1", MaxRuns = 10, Now = T0.AddMinutes(1), LeaseExpiresAt = T0.AddMinutes(2),
        })).Id);
        // Migration 10 added the retry time: an attempt stored before reads without one, a new one keeps it.
        Assert.True(await upgraded.Steps.RecordAttemptEndedAsync(new AttemptEndedRequest
        {
            RunId = run.Run.Id, Owner = "n1", StepKey = "new", Kind = StepKind.Step, Attempt = 1, StartedAt = T0,
            EndedAt = T0.AddSeconds(1), Outcome = AttemptOutcome.Failed, RetryAt = T0.AddSeconds(121),
        }));
        Assert.Equal(new DateTimeOffset?[] { T0.AddSeconds(121), null }, (await upgraded.Steps.GetAttemptsAsync(run.Run.Id)).Select(a => a.RetryAt));
    }

    [Fact]
    public async Task InitializeAsync_SchemaNewerThanCode_ThrowsClearError()
    {
        var schema = _database.NewSchema();
        await Node(schema).InitializeAsync();
        var newer = PostgresMigrations.All.Count + 1;
        await ScalarAsync($"INSERT INTO \"{schema}\".schema_version (version) VALUES ({newer}) RETURNING version");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Node(schema).InitializeAsync());

        Assert.Contains($"version {newer}", error.Message, StringComparison.Ordinal);
        Assert.Contains("newer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitializeAsync_UnreachableServer_NamesHostAndPortNeverPassword()
    {
        var password = "pw-" + Guid.NewGuid().ToString("N");
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        var store = new PostgresBatonStore(
            new PostgresStoreOptions { ConnectionString = $"Host=127.0.0.1;Port=1;Username=baton;Password={password};Database=baton;Timeout=3" },
            TimeProvider.System, NullLogger.Instance);
        _stores.Add(store);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync());
        var ping = await Assert.ThrowsAsync<InvalidOperationException>(() => store.PingAsync());

        Assert.Contains("127.0.0.1:1", error.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1", ping.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(password, ping.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsePostgres_InvalidOptions_FailsValidationWithoutPassword()
    {
        var services = new ServiceCollection();
        services.AddBaton().UsePostgres(o =>
        {
            o.ConnectionString = "Host=127.0.0.1;Password=hunter2-secret";
            o.Schema = "Bad-Schema";
            o.CommandTimeout = TimeSpan.Zero;
        });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PostgresStoreOptions>>().Value);

        Assert.Equal(2, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.Contains("Schema 'Bad-Schema'", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("CommandTimeout", StringComparison.Ordinal));
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    public void Validate_WriterConnectionsOutOfRange_NamesTheRange(int connections)
    {
        var result = new PostgresStoreOptionsValidator().Validate(null, new PostgresStoreOptions
        {
            ConnectionString = "Host=127.0.0.1", WriterConnections = connections,
        });

        Assert.Equal($"Baton:Store:Postgres:WriterConnections must be between 1 and 16 (it is {connections}).", Assert.Single(result.Failures!));
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Username=svc;Password=ab;cd=ef", "cd")]
    [InlineData("Host=127.0.0.1;Username=svc;Pwd=s3cr3t;tail;x", "tail")]
    [InlineData("Host=127.0.0.1;Username=svc;Password=ab;Port=xyz", "xyz")]
    public void Validate_UnquotedPasswordHoldingASemicolon_ErrorShowsNoPieceOfIt(string connectionString, string piece)
    {
        // Npgsql reads what follows the ';' as a keyword of its own and names it: "Keyword not supported: 'cd'". Before,
        // that piece of the password was in the error (and in the start-up failure that prints it).
        var failure = Assert.Single(new PostgresStoreOptionsValidator().Validate(null, new PostgresStoreOptions { ConnectionString = connectionString }).Failures!);

        Assert.DoesNotContain(piece, failure, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("Baton:Store:Postgres:ConnectionString is not a valid Npgsql connection string", failure, StringComparison.Ordinal);
        Assert.Contains("a value holding ';' must be quoted", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownKeywordWithoutAPassword_NamesTheKeyword()
    {
        var failure = Assert.Single(new PostgresStoreOptionsValidator().Validate(null, new PostgresStoreOptions { ConnectionString = "Host=127.0.0.1;Usernme=svc" }).Failures!);

        Assert.Contains("usernme", failure, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Maximum Pool Size=8", 5, 4)]
    [InlineData("Host=127.0.0.1", 11, 10)]
    public void Validate_WriterConnectionsOverHalfThePool_NamesTheLimit(string connectionString, int connections, int limit)
    {
        var result = new PostgresStoreOptionsValidator().Validate(null, new PostgresStoreOptions
        {
            ConnectionString = connectionString, WriterConnections = connections,
        });

        Assert.Contains($"at most {limit}.", Assert.Single(result.Failures!), StringComparison.Ordinal);
        Assert.True(new PostgresStoreOptionsValidator().Validate(null, new PostgresStoreOptions
        {
            ConnectionString = connectionString, WriterConnections = limit,
        }).Succeeded);
    }

    [Theory]
    [InlineData("Host=127.0.0.1", PostgresBatonStore.DefaultMaxPoolSize)]
    [InlineData("Host=127.0.0.1;Maximum Pool Size=5", 5)]
    [InlineData("Host=127.0.0.1;MaxPoolSize=7", 7)]
    [InlineData("Host=127.0.0.1;maximum pool size=100", 100)]
    public async Task Constructor_PoolSize_DefaultsToTwentyUnlessSet(string connectionString, int expected)
    {
        await using var store = new PostgresBatonStore(
            new PostgresStoreOptions { ConnectionString = connectionString }, TimeProvider.System, NullLogger.Instance);

        Assert.Equal(expected, store.MaxPoolSize);
    }

    [Fact]
    public async Task UsePostgres_ValidOptions_ResolvesWorkingStore()
    {
        var schema = _database.NewSchema();
        var services = new ServiceCollection();
        services.AddBaton().UsePostgres(o => { o.ConnectionString = PostgresTestDatabase.ConnectionString; o.Schema = schema; });
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IBatonStore>();
        await store.InitializeAsync();
        await store.PingAsync();

        Assert.IsType<PostgresBatonStore>(store);
        Assert.IsAssignableFrom<IRunNotifications>(store);
    }

    [Fact]
    public async Task CreateRunAsync_ConcurrencyLimitFromTwoNodes_NeverExceedsLimit()
    {
        var schema = _database.NewSchema();
        var nodes = new[] { Node(schema), Node(schema) };
        await Task.WhenAll(nodes.Select(n => n.InitializeAsync()));

        var results = await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            Task.Run(() => nodes[i % 2].Runs.CreateRunAsync(NewRun() with { ConcurrencyKey = "tenant", ConcurrencyLimit = 2 }))));

        var created = results.Where(r => r.Outcome == CreateRunOutcome.Created).Select(r => r.Run.Id).ToList();
        Assert.Equal(2, created.Count);
        Assert.All(results.Where(r => r.Outcome != CreateRunOutcome.Created), r =>
        {
            Assert.Equal(CreateRunOutcome.Conflict, r.Outcome);
            Assert.Contains(r.Run.Id, created);
        });
        Assert.Equal(2, await ScalarAsync($"SELECT count(*) FROM \"{schema}\".runs WHERE concurrency_key = 'tenant'"));
    }

    [Fact]
    public async Task CreateRunAsync_SameIdempotencyKeyFromTwoNodes_CreatesOneRun()
    {
        var schema = _database.NewSchema();
        var nodes = new[] { Node(schema), Node(schema) };
        await Task.WhenAll(nodes.Select(n => n.InitializeAsync()));

        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => nodes[i % 2].Runs.CreateRunAsync(NewRun() with { IdempotencyKey = "order-7" }))));

        var created = Assert.Single(results, r => r.Outcome == CreateRunOutcome.Created);
        Assert.All(results, r => Assert.Equal(created.Run.Id, r.Run.Id));
        Assert.Equal(1, await ScalarAsync($"SELECT count(*) FROM \"{schema}\".runs"));
    }

    [Fact]
    public async Task ClaimRunsAsync_TwoNodesDraining_NeverClaimSameRun()
    {
        var schema = _database.NewSchema();
        var nodes = new[] { Node(schema), Node(schema) };
        await Task.WhenAll(nodes.Select(n => n.InitializeAsync()));
        await Task.WhenAll(Enumerable.Range(0, 300).Select(i => nodes[i % 2].Runs.CreateRunAsync(NewRun())));

        async Task<List<string>> DrainAsync(IBatonStore node, string owner)
        {
            var mine = new List<string>();
            // Bounded so that a store handing out leased runs fails the test instead of looping.
            for (var round = 0; round < 500; round++)
            {
                var claimed = await node.Runs.ClaimRunsAsync(new ClaimRunsRequest
                {
                    Owner = owner, MaxRuns = 5, Now = T0, LeaseExpiresAt = T0.AddSeconds(30),
                });
                if (claimed.Count == 0)
                {
                    return mine;
                }

                mine.AddRange(claimed.Select(r => r.Id));
            }

            return mine;
        }

        var results = await Task.WhenAll(
            Task.Run(() => DrainAsync(nodes[0], "node-a")), Task.Run(() => DrainAsync(nodes[1], "node-b")),
            Task.Run(() => DrainAsync(nodes[0], "node-c")), Task.Run(() => DrainAsync(nodes[1], "node-d")));

        var all = results.SelectMany(r => r).ToList();
        Assert.Equal(300, all.Count);
        Assert.Equal(300, all.Distinct().Count());
        Assert.Equal(0, await ScalarAsync($"SELECT count(*) FROM \"{schema}\".runs WHERE executions <> 1"));
    }

    [Fact]
    public async Task ListenAsync_RunCreatedOnOtherNode_WakesListener()
    {
        var schema = _database.NewSchema();
        var listener = Node(schema);
        var creator = Node(schema);
        await Task.WhenAll(listener.InitializeAsync(), creator.InitializeAsync());
        var calls = 0;
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var listening = listener.ListenAsync(() =>
        {
            // The first call comes when the listener has connected; later ones are notifications.
            if (Interlocked.Increment(ref calls) == 1)
            {
                connected.TrySetResult();
            }
            else
            {
                woken.TrySetResult();
            }
        }, stop.Token);
        await connected.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await creator.Runs.CreateRunAsync(NewRun() with { Now = DateTimeOffset.UtcNow });
        await woken.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await stop.CancelAsync();
        await listening.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(listening.IsCompletedSuccessfully);
        Assert.True(Volatile.Read(ref calls) >= 2);
    }

    [Fact]
    public async Task ListenAsync_RunNotDueYet_DoesNotNotifyButReleaseDoes()
    {
        var schema = _database.NewSchema();
        var store = Node(schema);
        await store.InitializeAsync();
        await using var connection = new NpgsqlConnection(PostgresTestDatabase.ConnectionString);
        await connection.OpenAsync();
        var received = new List<string>();
        connection.Notification += (_, e) => received.Add(e.Channel);
        await using (var listen = new NpgsqlCommand($"LISTEN \"{store.Channel}\"", connection))
        {
            await listen.ExecuteNonQueryAsync();
        }

        var later = await store.Runs.CreateRunAsync(NewRun() with { RunAfter = T0.AddHours(1) });
        var due = await store.Runs.CreateRunAsync(NewRun());
        var claimed = Assert.Single(await store.Runs.ClaimRunsAsync(new ClaimRunsRequest
        {
            Owner = "node-a", MaxRuns = 10, Now = T0, LeaseExpiresAt = T0.AddSeconds(30),
        }));
        Assert.True(await store.Runs.ReleaseLeaseAsync(new ReleaseLeaseRequest(claimed.Id, "node-a", T0.AddSeconds(1))));
        // A round trip on the listening connection delivers every notification committed before it.
        await using (var sync = new NpgsqlCommand("SELECT 1", connection))
        {
            await sync.ExecuteScalarAsync();
        }

        Assert.Equal(CreateRunOutcome.Created, later.Outcome);
        Assert.Equal(due.Run.Id, claimed.Id);
        Assert.Equal(new[] { store.Channel, store.Channel }, received);
    }
}
