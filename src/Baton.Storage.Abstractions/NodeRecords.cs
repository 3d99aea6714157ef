using System.Globalization;
using System.Text.Json;

namespace Baton.Storage;

/// <summary>
/// A workflow as a node's code executes it: the version its runs start at and the older versions whose runs it resumes
/// (<c>WorkflowOptions.Version</c> and <c>ResumesVersions</c>), so a mixed-version deploy shows which node takes which runs.
/// </summary>
public sealed record NodeWorkflowVersions(string Name, int Version, IReadOnlyList<int> ResumesVersions)
{
    /// <summary>As the dashboard shows it: <c>order v2</c>, <c>order v2 (resumes v1)</c>.</summary>
    public string Describe() => ResumesVersions.Count == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{Name} v{Version}")
        : string.Create(CultureInfo.InvariantCulture, $"{Name} v{Version} (resumes {string.Join(", ", ResumesVersions.Select(v => "v" + v.ToString(CultureInfo.InvariantCulture)))})");
}

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
    /// <summary>
    /// The versions of <see cref="Workflows"/> this node executes, sorted by name; null when its heartbeat did not record them
    /// (a node of a Baton before versions were recorded, still running against a database another node upgraded).
    /// </summary>
    public IReadOnlyList<NodeWorkflowVersions>? WorkflowVersions { get; init; }
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
    /// <summary>The versions of <see cref="Workflows"/> the node executes; null records none (read back as null).</summary>
    public IReadOnlyList<NodeWorkflowVersions>? WorkflowVersions { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required DateTimeOffset Now { get; init; }
}

/// <summary>The JSON text a store keeps for <see cref="NodeRecord.WorkflowVersions"/>, one encoding for every store (null in, null out).</summary>
public static class NodeWorkflowsJson
{
    public static string? Write(IReadOnlyList<NodeWorkflowVersions>? versions) =>
        versions is null ? null : JsonSerializer.Serialize(versions.ToList(), RunStateJsonContext.Default.ListNodeWorkflowVersions);

    public static IReadOnlyList<NodeWorkflowVersions>? Read(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, RunStateJsonContext.Default.ListNodeWorkflowVersions);
}

/// <summary>Nodes whose last heartbeat is at or after <paramref name="HeartbeatSince"/>, ordered by node id.</summary>
public sealed record ListNodesRequest(DateTimeOffset HeartbeatSince);

/// <summary>Removes one node (its clean shutdown).</summary>
public sealed record RemoveNodeRequest(string NodeId);

/// <summary>Removes every node whose last heartbeat is before <paramref name="HeartbeatBefore"/> (nodes that died).</summary>
public sealed record PruneNodesRequest(DateTimeOffset HeartbeatBefore);
