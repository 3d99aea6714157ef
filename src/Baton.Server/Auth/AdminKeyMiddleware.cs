namespace Baton.Server.Auth;

/// <summary>
/// Checks the admin key on every request, after routing so the endpoint's <see cref="AdminKeyMetadata"/>
/// is known. Default deny: a request that matched no endpoint needs the key as well, so unknown paths
/// do not reveal which routes exist. A rejection is 401 with the body <c>{"error":"Unauthorized","detail":...}</c>,
/// the detail naming the header (and, where the endpoint accepts it, the query parameter) the key goes in.
/// </summary>
internal sealed class AdminKeyMiddleware(RequestDelegate next, AdminKey key, ILogger<AdminKeyMiddleware> logger)
{
    private static readonly byte[] UnauthorizedBody =
        """{"error":"Unauthorized","detail":"send the admin key in the X-ADMIN-KEY header"}"""u8.ToArray();

    private static readonly byte[] UnauthorizedQueryBody =
        """{"error":"Unauthorized","detail":"send the admin key in the X-ADMIN-KEY header or the key query parameter"}"""u8.ToArray();

    public async Task InvokeAsync(HttpContext context)
    {
        var metadata = context.GetEndpoint()?.Metadata.GetMetadata<AdminKeyMetadata>();
        if (metadata is { Required: false })
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var presented = context.Request.Headers[AdminKeyEndpointExtensions.HeaderName].ToString();
        var source = "header";
        if (presented.Length == 0 && metadata is { AllowQueryKey: true })
        {
            presented = context.Request.Query[AdminKeyEndpointExtensions.QueryName].ToString();
            source = "query";
        }

        if (key.Matches(presented))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        Log.Unauthorized(logger, context.Request.Method, context.Request.Path.Value ?? "/", presented.Length == 0 ? "missing" : $"wrong ({source})");
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.ContentType = "application/json";
        var body = metadata is { AllowQueryKey: true } ? UnauthorizedQueryBody : UnauthorizedBody;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
