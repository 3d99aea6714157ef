using System.Reflection;
using Baton.Hosting;
using Baton.Nodes;
using Baton.Server.Auth;
using Baton.Server.Logging;
using Baton.Storage;

namespace Baton.Server.Health;

public sealed record StoreHealth(string Status, string? Error);

public sealed record WorkerHealth(bool Enabled, bool Running, int ActiveRuns);

/// <summary>A live node of the registry (its heartbeat is within the live window).</summary>
public sealed record NodeView(
    string NodeId, string Host, int ProcessId, string Version, IReadOnlyList<string> Workflows, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt);

/// <param name="Status"><c>ready</c> or <c>not_ready</c>.</param>
/// <param name="Nodes">The live nodes sharing this node's store (this one included); null when the store cannot be read.</param>
public sealed record HealthView(
    string Status, StoreHealth Store, WorkerHealth Worker, double UptimeSeconds, string Version, string NodeId, IReadOnlyList<NodeView>? Nodes);

/// <summary>
/// <c>/healthz</c> is liveness (the process answers); <c>/health</c> is readiness: the store answers a
/// ping within <see cref="PingTimeout"/> and, when this node runs a worker, the worker is claiming.
/// <c>/health</c> also lists the live nodes of the node registry (heartbeat within three heartbeat intervals).
/// Neither needs the admin key.
/// </summary>
internal static class HealthEndpoints
{
    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The version of the engine assembly, the one each node writes into the node registry, so the top-level
    /// <c>version</c> and this node's <c>nodes[].version</c> always agree. The product version is set once, in
    /// Directory.Build.props.
    /// </summary>
    public static readonly string Version =
        typeof(IBatonNodes).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapMethods("/healthz", [HttpMethods.Get, HttpMethods.Head], () => TypedResults.Text("OK", "text/plain"))
            .AllowWithoutAdminKey()
            .WithTags("Health")
            .WithSummary("Liveness: 200 OK while the process serves requests (GET or HEAD)");
        routes.MapGet("/health", GetAsync)
            .AllowWithoutAdminKey()
            .WithTags("Health")
            .WithSummary("Readiness: store reachable, worker running; 503 when not ready")
            .Produces<HealthView>()
            .Produces<HealthView>(StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> GetAsync(
        HttpContext context, IBatonStore store, IBatonNodes nodes, IBatonWorkerStatus worker, ProcessClock clock, Microsoft.Extensions.Options.IOptions<BatonOptions> engine, SecretRedactor secrets, ILogger<ProcessClock> logger)
    {
        StoreHealth storeHealth;
        IReadOnlyList<NodeView>? live = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(PingTimeout);
        try
        {
            await store.PingAsync(timeout.Token);
            storeHealth = new StoreHealth("ok", null);
            live = [.. (await nodes.ListLiveNodesAsync(timeout.Token))
                .Select(n => new NodeView(n.NodeId, n.Host, n.ProcessId, n.Version, n.Workflows, n.StartedAt, n.HeartbeatAt))];
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            var error = ex is OperationCanceledException ? $"no answer within {PingTimeout.TotalSeconds:0} s" : secrets.Redact(ex.Message);
            Log.StoreUnreachable(logger, ex, error);
            storeHealth = new StoreHealth("unreachable", error);
        }

        var workerHealth = new WorkerHealth(worker.Enabled, worker.IsRunning, worker.ActiveRuns);
        var ready = storeHealth.Status == "ok" && (!worker.Enabled || worker.IsRunning);
        var view = new HealthView(ready ? "ready" : "not_ready", storeHealth, workerHealth, Math.Round(clock.Uptime.TotalSeconds, 3), Version, engine.Value.NodeId, live);
        return TypedResults.Json(view, statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}

/// <summary>When the server was built (resolved eagerly in <see cref="BatonServer.Build"/>), for uptime.</summary>
internal sealed class ProcessClock(TimeProvider time)
{
    private readonly long _started = time.GetTimestamp();

    public TimeSpan Uptime => time.GetElapsedTime(_started);
}
