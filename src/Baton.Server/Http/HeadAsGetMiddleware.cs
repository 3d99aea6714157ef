using Microsoft.AspNetCore.Http;

namespace Baton.Server.Http;

/// <summary>
/// Answers <c>HEAD</c> as <c>GET</c> without a body (RFC 9110 §9.3.2: the same status and headers) on Baton's own read-only
/// routes: <c>/health</c>, <c>/healthz</c>, <c>/metrics</c> and <c>/api/...</c>. They are mapped for GET only, so a monitor's
/// or a proxy's <c>HEAD</c> was refused. The handler runs with its body written nowhere. Only those: an app's GET route may
/// act (the catalog seed's <c>GET /sync</c> starts a sync), and the dashboard's live streams run until the client leaves.
/// </summary>
internal sealed class HeadAsGetMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsHead(request.Method) || !ReadOnly(request.Path))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var body = context.Response.Body;
        request.Method = HttpMethods.Get;
        context.Response.Body = Stream.Null;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            request.Method = HttpMethods.Head;
            context.Response.Body = body;
        }
    }

    private static bool ReadOnly(PathString path) =>
        path.StartsWithSegments("/api", StringComparison.Ordinal) || path.StartsWithSegments("/metrics", StringComparison.Ordinal)
        || path.Equals("/health", StringComparison.Ordinal) || path.Equals("/healthz", StringComparison.Ordinal);
}
