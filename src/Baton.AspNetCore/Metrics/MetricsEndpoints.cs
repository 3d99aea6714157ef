using Baton.Server.Auth;
using Baton.AspNetCore;

namespace Baton.Server.Metrics;

internal static class MetricsEndpoints
{
    public static void Map(IEndpointRouteBuilder routes, BatonApiOptions options)
    {
        var endpoint = routes.MapGet("/metrics", async (HttpContext context, PrometheusExporter exporter, QueuedRunsGauge queued) =>
            {
                await queued.RefreshAsync(context.RequestAborted);
                return TypedResults.Text(exporter.Collect(), PrometheusExporter.ContentType);
            })
            .WithTags("Health")
            .WithSummary("Prometheus text exposition (format 0.0.4) of the engine's metrics");
        if (options.MetricsRequireAdminKey)
        {
            endpoint.RequireAdminKey();
        }
        else
        {
            endpoint.AllowWithoutAdminKey();
        }
    }
}
