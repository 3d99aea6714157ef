using System.Text.Json;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>The node registry: one row per node, workflows as a JSON array, their versions as <see cref="NodeWorkflowsJson"/>.</summary>
internal sealed class SqliteNodeStore(SqliteBatonStore store) : INodeStore
{
    private const string Columns = "node_id, host, process_id, version, workflows, started_at, heartbeat_at, workflow_versions";

    private const string HeartbeatSql = """
        INSERT INTO nodes (node_id, host, process_id, version, workflows, started_at, heartbeat_at, workflow_versions)
        VALUES ($node_id, $host, $process_id, $version, $workflows, $started_at, $now, $workflow_versions)
        ON CONFLICT (node_id) DO UPDATE SET
            host = excluded.host, process_id = excluded.process_id, version = excluded.version,
            workflows = excluded.workflows, heartbeat_at = excluded.heartbeat_at, started_at = excluded.started_at,
            workflow_versions = excluded.workflow_versions
        """;

    public Task HeartbeatNodeAsync(NodeHeartbeatRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.NodeId, "request.NodeId");
        var workflows = JsonSerializer.Serialize(request.Workflows ?? []);
        return store.WriteAsync(
            ctx => ctx.Command(HeartbeatSql)
                .With("$node_id", request.NodeId)
                .With("$host", request.Host)
                .With("$process_id", request.ProcessId)
                .With("$version", request.Version)
                .With("$workflows", workflows)
                .With("$workflow_versions", NodeWorkflowsJson.Write(request.WorkflowVersions))
                .With("$started_at", request.StartedAt)
                .With("$now", request.Now)
                .ExecuteNonQuery(),
            cancellationToken);
    }

    public Task<IReadOnlyList<NodeRecord>> ListNodesAsync(ListNodesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return store.ReadAsync<IReadOnlyList<NodeRecord>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM nodes WHERE heartbeat_at >= $since ORDER BY node_id";
            return SqliteRows.ReadAll(command.With("$since", request.HeartbeatSince), r => new NodeRecord
            {
                NodeId = r.GetString(0),
                Host = r.GetString(1),
                ProcessId = r.GetInt32(2),
                Version = r.GetString(3),
                Workflows = JsonSerializer.Deserialize<string[]>(r.GetString(4)) ?? [],
                StartedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
                HeartbeatAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)),
                WorkflowVersions = NodeWorkflowsJson.Read(r.IsDBNull(7) ? null : r.GetString(7)),
            });
        }, cancellationToken);
    }

    public Task<bool> RemoveNodeAsync(RemoveNodeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return store.WriteAsync(
            ctx => ctx.Command("DELETE FROM nodes WHERE node_id = $node_id").With("$node_id", request.NodeId).ExecuteNonQuery() > 0,
            cancellationToken);
    }

    public Task<int> PruneNodesAsync(PruneNodesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return store.WriteAsync(
            ctx => ctx.Command("DELETE FROM nodes WHERE heartbeat_at < $before").With("$before", request.HeartbeatBefore).ExecuteNonQuery(),
            cancellationToken);
    }
}
