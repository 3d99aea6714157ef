using Baton.Storage;

namespace Baton.Nodes;

/// <summary>The node registry as a host sees it: this node's id and the nodes that are alive now.</summary>
public interface IBatonNodes
{
    /// <summary>This node's id.</summary>
    string NodeId { get; }

    /// <summary>
    /// How recent a heartbeat must be for its node to count as alive: three heartbeat intervals
    /// (<see cref="Hosting.BatonOptions.HeartbeatInterval"/>), so one late or failed heartbeat does not drop a node.
    /// </summary>
    TimeSpan LiveWindow { get; }

    /// <summary>Nodes whose last heartbeat is within <see cref="LiveWindow"/> of now, ordered by node id.</summary>
    Task<IReadOnlyList<NodeRecord>> ListLiveNodesAsync(CancellationToken cancellationToken = default);
}
