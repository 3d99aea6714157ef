using System.Diagnostics;
using Npgsql;
using static Baton.Storage.Postgres.Internal.PostgresRows;

namespace Baton.Storage.Postgres.Internal;

/// <summary>The node registry: one row per node, shared by every node on the schema.</summary>
internal sealed class PostgresNodeStore : INodeStore
{
    private readonly PostgresBatonStore _store;
    private readonly PostgresNodeIdentity _identity;
    private readonly PostgresClockCheck _clock;
    private readonly string _heartbeatSql;
    private readonly string _listSql;
    private readonly string _removeSql;
    private readonly string _pruneSql;

    public PostgresNodeStore(PostgresBatonStore store, string s, PostgresNodeIdentity identity, PostgresClockCheck clock)
    {
        _store = store;
        _identity = identity;
        _clock = clock;
        _heartbeatSql = $"""
            INSERT INTO {s}.nodes (node_id, host, process_id, version, workflows, started_at, heartbeat_at, workflow_versions)
            VALUES (@node_id, @host, @process_id, @version, @workflows, @started_at, @now, @workflow_versions)
            ON CONFLICT (node_id) DO UPDATE SET
                host = excluded.host, process_id = excluded.process_id, version = excluded.version,
                workflows = excluded.workflows, heartbeat_at = excluded.heartbeat_at, started_at = excluded.started_at,
                workflow_versions = excluded.workflow_versions
            RETURNING clock_timestamp()
            """;
        _listSql = $"""
            SELECT node_id, host, process_id, version, workflows, started_at, heartbeat_at, workflow_versions
            FROM {s}.nodes WHERE heartbeat_at >= @since ORDER BY node_id
            """;
        _removeSql = $"DELETE FROM {s}.nodes WHERE node_id = @node_id";
        _pruneSql = $"DELETE FROM {s}.nodes WHERE heartbeat_at < @before";
    }

    /// <summary>
    /// Writes the heartbeat and compares the node's clock (<see cref="NodeHeartbeatRequest.Now"/>, carried forward to the
    /// moment the server answered, less half the round trip) with the server's (<see cref="PostgresClockCheck"/>).
    /// </summary>
    public async Task HeartbeatNodeAsync(NodeHeartbeatRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.NodeId, "request.NodeId");
        var begun = Stopwatch.GetTimestamp();
        // First that this process still holds its node id (NodeIdLostException if another process took it).
        await _identity.EnsureHeldAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_heartbeatSql, connection);
        command.Parameters
            .Text("node_id", request.NodeId)
            .Text("host", request.Host)
            .Int("process_id", request.ProcessId)
            .Text("version", request.Version)
            .TextArray("workflows", [.. request.Workflows ?? []])
            .Json("workflow_versions", NodeWorkflowsJson.Write(request.WorkflowVersions))
            .Time("started_at", request.StartedAt)
            .Time("now", request.Now);
        var sent = Stopwatch.GetElapsedTime(begun);
        var serverTime = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        var answered = Stopwatch.GetElapsedTime(begun);
        if (serverTime is DateTime server)
        {
            _clock.Observe(request.NodeId, request.Now + (sent + answered) / 2, new DateTimeOffset(server.ToUniversalTime()), (answered - sent) / 2);
        }
    }

    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(ListNodesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_listSql, connection);
        command.Parameters.Time("since", request.HeartbeatSince);
        return await ReadAllAsync(command, r => new NodeRecord
        {
            NodeId = r.GetString(0),
            Host = r.GetString(1),
            ProcessId = r.GetInt32(2),
            Version = r.GetString(3),
            Workflows = r.GetFieldValue<string[]>(4),
            StartedAt = Time(r, 5)!.Value,
            HeartbeatAt = Time(r, 6)!.Value,
            WorkflowVersions = NodeWorkflowsJson.Read(r.IsDBNull(7) ? null : r.GetString(7)),
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> RemoveNodeAsync(RemoveNodeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_removeSql, connection);
        command.Parameters.Text("node_id", request.NodeId);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<int> PruneNodesAsync(PruneNodesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_pruneSql, connection);
        command.Parameters.Time("before", request.HeartbeatBefore);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
