using System.Reflection;
using Baton.Storage;
using Baton.Workers;
using Baton.Workflows;
using Microsoft.Extensions.Hosting;

namespace Baton.Nodes;

/// <summary>
/// Keeps this node's row in the store's node registry: written at start, renewed every
/// <see cref="Hosting.BatonOptions.HeartbeatInterval"/>, removed on a clean shutdown. A node that dies keeps its
/// row until its heartbeat is <see cref="PruneAfter"/> old, when any live node removes it; until then it simply
/// drops out of <see cref="ListLiveNodesAsync"/>.
/// </summary>
/// <remarks>
/// Registered before the worker, so it stops after it: a draining node still shows as alive. A failed heartbeat
/// (store unreachable) is logged and retried on the next tick; it never stops the node. A store that reports another
/// live process took this node's id (<see cref="NodeIdLostException"/>) does: the exception ends this service, which
/// stops the host (the store has already fenced this process's leases).
/// </remarks>
internal sealed class NodeRegistry(INodeStore store, EngineServices engine, WorkflowRegistry workflows) : BackgroundService, IBatonNodes
{
    /// <summary>Rows of nodes silent this long are deleted.</summary>
    public static readonly TimeSpan PruneAfter = TimeSpan.FromHours(1);

    private static readonly string EngineVersion =
        typeof(NodeRegistry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private DateTimeOffset? _startedAt;
    private bool _failing;

    public string NodeId => engine.Owner;

    public TimeSpan LiveWindow => engine.Options.HeartbeatInterval * 3;

    public Task<IReadOnlyList<NodeRecord>> ListLiveNodesAsync(CancellationToken cancellationToken = default) =>
        store.ListNodesAsync(new ListNodesRequest(engine.Time.GetUtcNow() - LiveWindow), cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _startedAt = engine.Time.GetUtcNow();
        using var timer = new PeriodicTimer(engine.Options.HeartbeatInterval, engine.Time);
        try
        {
            do
            {
                await BeatAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Writes this node's heartbeat and prunes long-dead nodes; logs (once per outage) instead of throwing.</summary>
    internal async Task BeatAsync(CancellationToken cancellationToken)
    {
        var now = engine.Time.GetUtcNow();
        try
        {
            await store.HeartbeatNodeAsync(
                new NodeHeartbeatRequest
                {
                    NodeId = engine.Owner,
                    Host = Environment.MachineName,
                    ProcessId = Environment.ProcessId,
                    Version = EngineVersion,
                    Workflows = [.. workflows.Workflows.Select(w => w.Name).Order(StringComparer.Ordinal)],
                    WorkflowVersions = workflows.NodeVersions,
                    StartedAt = _startedAt ?? now,
                    Now = now,
                },
                cancellationToken).ConfigureAwait(false);
            await store.PruneNodesAsync(new PruneNodesRequest(now - PruneAfter), cancellationToken).ConfigureAwait(false);
            if (_failing)
            {
                _failing = false;
                Log.NodeHeartbeatRecovered(engine.Logger, engine.Owner);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not NodeIdLostException)
        {
            if (!_failing)
            {
                _failing = true;
                Log.NodeHeartbeatFailed(engine.Logger, ex, engine.Owner);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Bounded: a shutdown with the store down must not hang on it.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), engine.Time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
            await store.RemoveNodeAsync(new RemoveNodeRequest(engine.Owner), linked.Token).ConfigureAwait(false);
            Log.NodeRemoved(engine.Logger, engine.Owner);
        }
        catch (Exception ex)
        {
            Log.NodeRemoveFailed(engine.Logger, ex, engine.Owner);
        }
    }
}
