namespace Baton.Server.Logging;

/// <summary>
/// Takes the request's <c>X-Correlation-ID</c> (or makes one), returns it in the response header and
/// puts it in a log scope for everything the request logs. The id is also stored on runs the request
/// starts, so the engine's log lines for that run carry it.
/// </summary>
internal sealed class CorrelationIdMiddleware(RequestDelegate next, ILogger<CorrelationIdMiddleware> logger)
{
    public const string HeaderName = "X-Correlation-ID";

    private static readonly object ItemKey = new();

    public async Task InvokeAsync(HttpContext context)
    {
        var id = context.Request.Headers[HeaderName].ToString();
        if (!IsAcceptable(id))
        {
            id = Guid.NewGuid().ToString("N");
        }

        context.Items[ItemKey] = id;
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[HeaderName] = id;
            return Task.CompletedTask;
        });
        using (logger.BeginScope(new Dictionary<string, object?> { ["CorrelationId"] = id }))
        {
            await next(context).ConfigureAwait(false);
        }
    }

    /// <summary>The correlation id of the current request.</summary>
    public static string? Get(HttpContext context) => context.Items.TryGetValue(ItemKey, out var id) ? id as string : null;

    /// <summary>1-128 visible ASCII characters: anything else (empty, control characters, huge) is replaced.</summary>
    internal static bool IsAcceptable(string? id) =>
        id is { Length: > 0 and <= 128 } && id.All(c => c is > ' ' and < (char)127);
}
