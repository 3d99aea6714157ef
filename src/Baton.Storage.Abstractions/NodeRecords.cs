namespace Baton.Storage;

/// <summary>One node as it last recorded itself in the store.</summary>
public sealed record NodeRecord
{
    /// <summary>The node's id (BatonOptions.NodeId), also its lease owner name.</summary>
    public required string NodeId { get; init; }
    public required string Host { get; init; }
    public required int ProcessId { get; init; }
    public required string Version { get; init; }
    /// <summary>The workflows this node can execute, sorted by name.</summary>
    public required IReadOnlyList<string> Workflows { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    /// <summary>The node's last heartbeat.</summary>
    public required DateTimeOffset HeartbeatAt { get; init; }
}

/// <summary>
/// Records a node's heartbeat: inserts the node or, if it is already recorded, updates every field but
/// <see cref="NodeRecord.StartedAt"/>.
/// </summary>
public sealed record NodeHeartbeatRequest
{
    public required string NodeId { get; init; }
    public required string Host { get; init; }
    public required int ProcessId { get; init; }
    public required string Version { get; init; }
    public IReadOnlyList<string> Workflows { get; init; } = [];
    public required DateTimeOffset StartedAt { get; init; }
    public required DateTimeOffset Now { get; init; }
}

/// <summary>Nodes whose last heartbeat is at or after <paramref name="HeartbeatSince"/>, ordered by node id.</summary>
public sealed record ListNodesRequest(DateTimeOffset HeartbeatSince);

/// <summary>Removes one node (its clean shutdown).</summary>
public sealed record RemoveNodeRequest(string NodeId);

/// <summary>Removes every node whose last heartbeat is before <paramref name="HeartbeatBefore"/> (nodes that died).</summary>
public sealed record PruneNodesRequest(DateTimeOffset HeartbeatBefore);
