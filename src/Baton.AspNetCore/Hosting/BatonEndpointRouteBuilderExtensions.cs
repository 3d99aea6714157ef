using Baton.Dashboard;
using Baton.Server.Api;
using Baton.Server.Auth;
using Baton.Server.Health;
using Baton.Server.Http;
using Baton.Server.Metrics;
using Baton.Workflows;

namespace Baton.AspNetCore;

/// <summary>Maps Baton's endpoints (services registered by <see cref="BatonServerServiceCollectionExtensions.AddBatonServer"/>).</summary>
public static class BatonEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the HTTP API (<c>/api/workflows</c>, <c>/api/runs</c>, events, <c>/api/schedules</c>), Baton's OpenAPI document
    /// (<c>/openapi/baton.json</c>, and <c>/openapi/v1.json</c> unless the app registered an OpenAPI document named <c>v1</c> of
    /// its own, with <c>AddOpenApi()</c>) and its UI (<c>/docs</c>). Every route requires the <see cref="BatonAuthorization.PolicyName"/>
    /// policy (so the app needs <c>UseAuthorization()</c> after <c>UseRouting()</c>, which <c>WebApplication</c> adds itself
    /// when the app does not call <c>UseRouting()</c>). Each request's handler is bounded by <see cref="BatonApiOptions.RequestTimeout"/>: a store that hangs gets a
    /// 503 problem then.
    /// Returns the group, for more conventions (a host filter, rate limiting).
    /// </summary>
    public static RouteGroupBuilder MapBatonApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var api = endpoints.MapGroup("").RequireAdminKey().WithStoreTimeout().WithBatonMetadata();
        WorkflowEndpoints.Map(api);
        RunEndpoints.Map(api);
        EventEndpoints.Map(api);
        ScheduleEndpoints.Map(api);
        ApiDocs.MapDocument(api, ApiDocs.OwnDocumentPath);
        if (!ApiDocs.AppHasDefaultDocument(endpoints.ServiceProvider))
        {
            ApiDocs.MapDocument(api, ApiDocs.DefaultDocumentPath);
        }

        ApiDocs.Map(api);
        return api;
    }

    /// <summary>
    /// Maps <c>/healthz</c> (liveness: 200 <c>OK</c>) and <c>/health</c> (readiness: Baton's health check, the JSON written by
    /// <see cref="BatonHealthResponse"/>, 503 when not ready). Neither needs credentials. Uptime counts from this call.
    /// </summary>
    public static RouteGroupBuilder MapBatonHealth(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.ServiceProvider.GetRequiredService<ProcessClock>();
        var health = endpoints.MapGroup("").WithBatonMetadata();
        HealthEndpoints.Map(health);
        return health;
    }

    /// <summary>
    /// Maps <c>/metrics</c>: the engine's meter in the Prometheus text format, every documented series declared at zero for
    /// each registered workflow. Open by default, behind the policy with <see cref="BatonApiOptions.MetricsRequireAdminKey"/>.
    /// Call it before the app starts, so the exporter listens before the engine records anything.
    /// </summary>
    public static IEndpointRouteBuilder MapBatonMetrics(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        _ = services.GetService<OpenTelemetry.Metrics.MeterProvider>() ?? throw new InvalidOperationException(
            "MapBatonMetrics needs the OpenTelemetry meter provider that services.AddBatonServer() registers: call AddBatonServer first");
        services.GetRequiredService<QueuedRunsGauge>();
        ZeroSeries.Declare(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), [.. services.GetRequiredService<IWorkflowCatalog>().Workflows.Select(w => w.Name)]);
        MetricsEndpoints.Map(endpoints, services.GetRequiredService<BatonApiOptions>()).WithBatonMetadata();
        return endpoints;
    }

    /// <summary>
    /// Maps the dashboard under <c>/ui</c>, signed in with the admin key (<see cref="BatonApiOptions.AdminKey"/>, or the key the
    /// runnable host resolved).
    /// </summary>
    public static RouteGroupBuilder MapBatonDashboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapBatonDashboard(endpoints.ServiceProvider.GetRequiredService<AdminKey>().Matches).WithBatonMetadata();
    }

    /// <summary>
    /// Marks Baton's own endpoints: its exception handlers answer for them (an app's own routes keep the app's), and they are
    /// in Baton's OpenAPI document (group <c>baton</c>), not in one of the app's own.
    /// </summary>
    private static TBuilder WithBatonMetadata<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(BatonEndpointMetadata.Instance).WithGroupName(ApiDocs.DocumentName);
}
