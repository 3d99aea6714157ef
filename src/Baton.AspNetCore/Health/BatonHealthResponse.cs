using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Baton.Server.Health;

/// <summary>
/// The response writer of <c>/health</c>: Baton's <see cref="HealthView"/> JSON (the shape <c>/health</c> has always had), 200
/// when every check of the report is healthy and 503 otherwise. A host can pass it as <c>HealthCheckOptions.ResponseWriter</c>.
/// </summary>
public static class BatonHealthResponse
{
    /// <summary>Writes <paramref name="report"/>; a report without Baton's check (see <see cref="BatonHealthCheck"/>) gets a not-ready view.</summary>
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        var view = report.Entries.TryGetValue(BatonHealthCheck.Name, out var entry) && entry.Data.TryGetValue(BatonHealthCheck.ViewKey, out var data) && data is HealthView baton
            ? baton
            : new HealthView("not_ready", new StoreHealth("unknown", "Baton's health check is not registered"), new WorkerHealth(false, false, 0), 0, HealthEndpoints.Version, "", null);
        // Another check of the report that fails (a host's, tagged "baton") makes the node not ready as well.
        if (report.Status != HealthStatus.Healthy && view.Status == "ready")
        {
            view = view with { Status = "not_ready" };
        }

        var ready = report.Status == HealthStatus.Healthy;
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        return context.Response.WriteAsJsonAsync(view, context.RequestAborted);
    }
}
