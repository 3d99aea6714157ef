using Npgsql;

namespace Baton.MultiNode.Tests.Infrastructure;

/// <summary>A private PostgreSQL cluster shared by the tests of one collection (or class); each test makes its own <see cref="Deployment"/>.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;

    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster did not start");

    public async Task InitializeAsync() => _cluster = await PostgresCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    /// <summary>The tests that share one cluster run one after another (one of them stops the cluster).</summary>
    public const string Name = "postgres-cluster";
}

/// <summary>
/// One test's Baton deployment: its own database on the cluster (Baton's schema <c>baton</c> and the side table
/// schema <c>effects</c>) and the nodes started on it. Dispose kills every node still running.
/// </summary>
public sealed class Deployment : IAsyncDisposable
{
    private readonly Dictionary<string, int> _generations = new(StringComparer.Ordinal);
    private readonly List<BatonNode> _all = [];

    private Deployment(PostgresCluster cluster, string connectionString)
    {
        Cluster = cluster;
        StoreConnectionString = connectionString;
        EffectsConnectionString = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 10 }.ConnectionString;
        Database = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 5 }.ConnectionString);
    }

    public PostgresCluster Cluster { get; }

    public string StoreConnectionString { get; }

    public string EffectsConnectionString { get; }

    /// <summary>For the test's own queries.</summary>
    public NpgsqlDataSource Database { get; }

    /// <summary>Nodes started and not killed.</summary>
    public List<BatonNode> Live { get; } = [];

    public static async Task<Deployment> CreateAsync(PostgresCluster cluster)
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..12];
        var deployment = new Deployment(cluster, await cluster.CreateDatabaseAsync(name));
        await deployment.ExecuteAsync("""
            CREATE SCHEMA effects;
            CREATE TABLE effects.attempts (id bigserial PRIMARY KEY, run_id text NOT NULL, step text NOT NULL, node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
            CREATE TABLE effects.done (id bigserial PRIMARY KEY, run_id text NOT NULL, step text NOT NULL, node text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
            """);
        return deployment;
    }

    /// <summary>Starts a node named <c>{name}-{generation}</c>, a new node (see <see cref="Restart"/> for a restarted one).</summary>
    public BatonNode StartNode(string name, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var generation = _generations[name] = _generations.GetValueOrDefault(name) + 1;
        var node = BatonNode.Start($"{name}-{generation}", StoreConnectionString, EffectsConnectionString, settings);
        _all.Add(node);
        Live.Add(node);
        return node;
    }

    /// <summary>Starts a new process with the node id of <paramref name="killed"/> (a node restarted after a crash).</summary>
    public BatonNode Restart(BatonNode killed, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var node = BatonNode.Start(killed.NodeId, StoreConnectionString, EffectsConnectionString, settings);
        _all.Add(node);
        Live.Add(node);
        return node;
    }

    /// <summary>Starts <paramref name="count"/> nodes at once and waits until every one is ready.</summary>
    public async Task<IReadOnlyList<BatonNode>> StartNodesAsync(int count, IReadOnlyDictionary<string, string?>? settings = null)
    {
        // The first node migrates the schema alone, so the others' start is not a race on it (it would be safe, only slower).
        var first = StartNode("n1", settings);
        await first.WaitForReadyAsync();
        var rest = Enumerable.Range(2, count - 1).Select(i => StartNode($"n{i}", settings)).ToList();
        await Task.WhenAll(rest.Select(n => n.WaitForReadyAsync()));
        return [first, .. rest];
    }

    public void Kill(BatonNode node)
    {
        node.Kill();
        Live.Remove(node);
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var command = Database.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var command = Database.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> map)
    {
        await using var command = Database.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    /// <summary>What the side table says about the steps whose result Baton stored (see <see cref="StepAudit"/>).</summary>
    public async Task<StepAudit> AuditStepsAsync() => new(
        CompletedSteps: await CountAsync("SELECT count(*) FROM baton.steps WHERE status = 1"),
        AttemptsAfterCompletion: await CountAsync("""
            SELECT count(*) FROM effects.attempts a JOIN baton.steps s ON s.run_id = a.run_id AND s.key = a.step
            WHERE s.status = 1 AND a.at > s.completed_at
            """),
        CompletedWithoutEffect: await CountAsync("""
            SELECT count(*) FROM baton.steps s WHERE s.status = 1
            AND NOT EXISTS (SELECT 1 FROM effects.done d WHERE d.run_id = s.run_id AND d.step = s.key AND d.at <= s.completed_at)
            """),
        StepsWithSeveralAttempts: await CountAsync("SELECT count(*) FROM (SELECT 1 FROM effects.attempts GROUP BY run_id, step HAVING count(*) > 1) x"),
        StepsWithSeveralEffects: await CountAsync("SELECT count(*) FROM (SELECT 1 FROM effects.done GROUP BY run_id, step HAVING count(*) > 1) x"),
        OverlappingAttempts: await CountAsync("""
            SELECT count(*) FROM effects.attempts a1
            JOIN effects.done d1 ON d1.run_id = a1.run_id AND d1.step = a1.step AND d1.node = a1.node AND d1.at >= a1.at
            JOIN effects.attempts a2 ON a2.run_id = a1.run_id AND a2.step = a1.step AND a2.node <> a1.node
            WHERE a2.at > a1.at AND a2.at < d1.at
            """));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _all)
        {
            await node.DisposeAsync();
        }

        await Database.DisposeAsync();
    }
}

/// <summary>
/// The side table checked against Baton's stored step results. A step body records an attempt row when it starts and
/// a done row when its work is finished; Baton stores the step's result (status 1, completed_at) after the body returns.
/// </summary>
/// <param name="CompletedSteps">Steps with a stored result.</param>
/// <param name="AttemptsAfterCompletion">
/// Attempts of a step that started after its result was stored: a completed step executed again. Must be 0.
/// </param>
/// <param name="CompletedWithoutEffect">Stored results with no finished side effect before them. Must be 0.</param>
/// <param name="StepsWithSeveralAttempts">
/// Steps that ran more than once before their result was stored: attempts interrupted by a kill (or failed by an
/// outage) and re-run. Allowed: steps run at least once.
/// </param>
/// <param name="StepsWithSeveralEffects">
/// Of those, steps whose work finished more than once: the node died after the work and before the result was
/// stored. Allowed (at least once), which is why real step code is idempotent.
/// </param>
/// <param name="OverlappingAttempts">
/// Attempts of one step on two nodes at once (the second started before the first finished its work): a node ran a
/// step whose lease another node held. Must be 0.
/// </param>
public sealed record StepAudit(
    long CompletedSteps, long AttemptsAfterCompletion, long CompletedWithoutEffect, long StepsWithSeveralAttempts, long StepsWithSeveralEffects, long OverlappingAttempts);
