using System.Diagnostics;

namespace Baton.Server.Logging;

/// <summary>
/// One log line per request: method, path, the query with secrets masked (<see cref="Redaction"/>; a
/// configured secret in the path is masked by the logger, <see cref="RedactingLoggerFactory"/>),
/// status and duration. No header is logged, so <c>X-ADMIN-KEY</c> never reaches a log line; the
/// framework's own request logging (which writes the raw URL) is turned off by the runnable host (src/Baton.Server, <c>LoggingSetup</c>).
/// Probe and scrape paths log at Debug to keep the log readable.
/// </summary>
internal sealed class RequestLoggingMiddleware(RequestDelegate next, SecretRedactor secrets, ILogger<RequestLoggingMiddleware> logger)
{
    /// <summary>
    /// Logs the request, or hands it straight on when neither line's level is enabled (a server at Warning, as the
    /// benchmarks run): then there is no async frame, timestamp or redaction per request for a line nobody writes.
    /// </summary>
    public Task InvokeAsync(HttpContext context) =>
        logger.IsEnabled(LogLevel.Information) || logger.IsEnabled(LogLevel.Debug) ? LogAsync(context) : next(context);

    private async Task LogAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var path = context.Request.Path.Value ?? "/";
            var query = Redaction.RedactQuery(context.Request.QueryString.Value, secrets);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (path is "/healthz" or "/health" or "/metrics")
            {
                Log.ProbeRequest(logger, context.Request.Method, path, query, context.Response.StatusCode, elapsed);
            }
            else
            {
                Log.Request(logger, context.Request.Method, path, query, context.Response.StatusCode, elapsed);
            }
        }
    }
}
