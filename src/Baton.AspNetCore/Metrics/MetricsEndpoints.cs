using Baton.Server.Auth;
using Baton.AspNetCore;

namespace Baton.Server.Metrics;

internal static class MetricsEndpoints
{
    public const string ContentType = "text/plain; charset=utf-8; version=0.0.4";

    public static RouteHandlerBuilder Map(IEndpointRouteBuilder routes, BatonApiOptions options)
    {
        // The OpenTelemetry Prometheus exporter writes the response; a route handler around it keeps /metrics in the
        // OpenAPI document, under the admin-key rule below, and counts the queued runs just before each scrape.
        var scrape = routes.CreateApplicationBuilder()
            .UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider: null, predicate: _ => true, path: null, configureBranchedPipeline: null, optionsName: null)
            .Build();
        var endpoint = routes.MapGet("/metrics", async (HttpContext context, QueuedRunsGauge queued) =>
            {
                await queued.RefreshAsync(context.RequestAborted);
                await scrape(context);
            })
            .Produces<string>(StatusCodes.Status200OK, "text/plain")
            .WithName("Metrics")
            .WithTags("Health")
            .WithSummary("Prometheus text exposition (format 0.0.4) of the engine's, ASP.NET Core's, HttpClient's, the runtime's and Npgsql's metrics");
        if (options.MetricsRequireAdminKey)
        {
            endpoint.RequireAdminKey();
        }
        else
        {
            endpoint.AllowWithoutAdminKey();
        }

        return endpoint;
    }
}
