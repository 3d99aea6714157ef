using Baton.Hosting;
using Baton.Nodes;
using Baton.Server.Logging;
using Baton.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Baton.Server.Health;

/// <summary>
/// Baton's readiness as an ASP.NET Core health check (registered by <c>AddBatonServer</c> as <see cref="Name"/>, tagged
/// <see cref="Tag"/>), so a host's own <c>MapHealthChecks</c> includes it: healthy when the store answers a ping within
/// <see cref="PingTimeout"/> and, when this node runs a worker, the worker is claiming; unhealthy otherwise. The result's
/// data holds the <see cref="HealthView"/> under <see cref="ViewKey"/> (what <c>/health</c> writes) and its parts as
/// plain values (<c>store</c>, <c>storeError</c>, <c>workerEnabled</c>, <c>workerRunning</c>, <c>activeRuns</c>).
/// </summary>
internal sealed class BatonHealthCheck(
    IBatonStore store, IBatonNodes nodes, IBatonWorkerStatus worker, ProcessClock clock, SecretRedactor secrets, ILogger<BatonHealthCheck> logger)
    : IHealthCheck
{
    /// <summary>The registration's name.</summary>
    public const string Name = "baton";

    /// <summary>The tag of the checks <c>/health</c> runs.</summary>
    public const string Tag = "baton";

    /// <summary>The data key of the <see cref="HealthView"/>.</summary>
    public const string ViewKey = "view";

    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        StoreHealth storeHealth;
        IReadOnlyList<NodeView>? live = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PingTimeout);
        try
        {
            // WaitAsync: the answer comes at the timeout even when the driver does not heed the token (a PostgreSQL server
            // that is hung, not down, held Npgsql's open for as long as the hang: /health answered after 40 s).
            await store.PingAsync(timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
            storeHealth = new StoreHealth("ok", null);
            live = [.. (await nodes.ListLiveNodesAsync(timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false))
                .Select(n => new NodeView(n.NodeId, n.Host, n.ProcessId, n.Version, n.Workflows, n.StartedAt, n.HeartbeatAt)
                {
                    WorkflowVersions = n.WorkflowVersions?.Select(w => new NodeWorkflowView(w.Name, w.Version, w.ResumesVersions)).ToList(),
                })];
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var error = ex is OperationCanceledException ? $"no answer within {PingTimeout.TotalSeconds:0} s" : secrets.Redact(ex.Message);
            Log.StoreUnreachable(logger, ex, error);
            storeHealth = new StoreHealth("unreachable", error);
        }

        var workerHealth = new WorkerHealth(worker.Enabled, worker.IsRunning, worker.ActiveRuns);
        var ready = storeHealth.Status == "ok" && (!worker.Enabled || worker.IsRunning);
        var view = new HealthView(
            ready ? "ready" : "not_ready", storeHealth, workerHealth, Math.Round(clock.Uptime.TotalSeconds, 3), HealthEndpoints.Version, nodes.NodeId, live);
        var data = new Dictionary<string, object>
        {
            [ViewKey] = view,
            ["store"] = storeHealth.Status,
            ["workerEnabled"] = worker.Enabled,
            ["workerRunning"] = worker.IsRunning,
            ["activeRuns"] = worker.ActiveRuns,
        };
        if (storeHealth.Error is { } storeError)
        {
            data["storeError"] = storeError;
        }

        var description = ready ? "store reachable, worker running" : storeHealth.Status != "ok" ? $"store {storeHealth.Status}: {storeHealth.Error}" : "worker not running";
        return ready ? HealthCheckResult.Healthy(description, data) : HealthCheckResult.Unhealthy(description, data: data);
    }
}
