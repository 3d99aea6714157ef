using System.Reflection;
using Baton.Hosting;
using Baton.Nodes;
using Baton.Server.Auth;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Baton.Server.Health;

public sealed record StoreHealth(string Status, string? Error);

public sealed record WorkerHealth(bool Enabled, bool Running, int ActiveRuns);

/// <summary>A live node of the registry (its heartbeat is within the live window).</summary>
public sealed record NodeView(
    string NodeId, string Host, int ProcessId, string Version, IReadOnlyList<string> Workflows, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt)
{
    /// <summary>
    /// The version of each of <see cref="Workflows"/> the node starts runs at and the older versions whose runs it resumes,
    /// sorted by name; null for a node that did not record them (one of a Baton before they were recorded).
    /// </summary>
    public IReadOnlyList<NodeWorkflowView>? WorkflowVersions { get; init; }
}

/// <summary>A workflow as a node executes it: <see cref="Version"/> for new runs, and the runs of <see cref="ResumesVersions"/>.</summary>
public sealed record NodeWorkflowView(string Name, int Version, IReadOnlyList<int> ResumesVersions);

/// <param name="Status"><c>ready</c> or <c>not_ready</c>.</param>
/// <param name="Nodes">The live nodes sharing this node's store (this one included); null when the store cannot be read.</param>
public sealed record HealthView(
    string Status, StoreHealth Store, WorkerHealth Worker, double UptimeSeconds, string Version, string NodeId, IReadOnlyList<NodeView>? Nodes);

/// <summary>
/// <c>/healthz</c> is liveness (the process answers); <c>/health</c> is readiness: the store answers a
/// ping within <see cref="BatonHealthCheck.PingTimeout"/> and, when this node runs a worker, the worker is claiming.
/// <c>/health</c> also lists the live nodes of the node registry (heartbeat within three heartbeat intervals). The answer is
/// <see cref="BatonHealthCheck"/>'s result, written by <see cref="BatonHealthResponse"/>. Neither needs the admin key.
/// </summary>
internal static class HealthEndpoints
{
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
            .WithName("Health")
            .AllowWithoutAdminKey()
            .WithTags("Health")
            .WithSummary("Readiness: store reachable, worker running; 503 when not ready")
            .Produces<HealthView>()
            .Produces<HealthView>(StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>
    /// Runs the checks tagged <see cref="BatonHealthCheck.Tag"/> (Baton's own, and any a host tags so) and answers with
    /// <see cref="BatonHealthResponse.WriteAsync"/>: the <see cref="HealthView"/> JSON, 503 when not ready.
    /// </summary>
    private static async Task GetAsync(HttpContext context, HealthCheckService health)
    {
        var report = await health.CheckHealthAsync(r => r.Tags.Contains(BatonHealthCheck.Tag), context.RequestAborted);
        await BatonHealthResponse.WriteAsync(context, report);
    }
}

/// <summary>When the server was built (resolved eagerly by <c>MapBatonHealth</c>), for uptime.</summary>
internal sealed class ProcessClock(TimeProvider time)
{
    private readonly long _started = time.GetTimestamp();

    public TimeSpan Uptime => time.GetElapsedTime(_started);
}
