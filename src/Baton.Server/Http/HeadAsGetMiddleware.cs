using Microsoft.AspNetCore.Http;

namespace Baton.Server.Http;

/// <summary>
/// Answers <c>HEAD</c> as <c>GET</c> without a body (RFC 9110 §9.3.2: the same status and headers). The server's routes are
/// mapped for GET only, so a <c>HEAD /health</c>, <c>/metrics</c> or <c>/api/...</c> from a monitor or a proxy's health check
/// was 405. The handler runs with its body written nowhere. Not for the dashboard's live streams (<c>/ui/live/</c>), whose
/// handler would run until the client went away.
/// </summary>
internal sealed class HeadAsGetMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsHead(request.Method) || request.Path.StartsWithSegments("/ui/live", StringComparison.Ordinal))
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
}
