using Microsoft.AspNetCore.Http;

namespace Baton.Server.Http;

/// <summary>
/// The correlation id of a request: taken from its <c>X-Correlation-ID</c> header or made up by the server,
/// returned in the response header, carried by the request's log lines. Endpoints that start runs put it
/// on the run (<c>StartRunRequest.CorrelationId</c>), so the engine's log lines for the run carry it too.
/// </summary>
public static class RequestCorrelation
{
    public const string HeaderName = "X-Correlation-ID";

    /// <summary>The id the server gave this request, or null outside the server's pipeline.</summary>
    public static string? Get(HttpContext context) => context.Features.Get<Feature>()?.Id;

    /// <summary>Gives the request its id (the server's correlation middleware does this first thing).</summary>
    public static void Set(HttpContext context, string id) => context.Features.Set(new Feature(id));

    /// <summary>1-128 visible ASCII characters: anything else (empty, control characters, huge) is replaced.</summary>
    public static bool IsAcceptable(string? id) =>
        id is { Length: > 0 and <= 128 } && id.All(c => c is > ' ' and < (char)127);

    private sealed record Feature(string Id);
}
