namespace Baton.Server.Auth;

/// <summary>
/// Checks the admin key on every request, after routing so the endpoint's <see cref="AdminKeyMetadata"/>
/// is known. Default deny: a request that matched no endpoint needs the key as well, so unknown paths
/// do not reveal which routes exist. A rejection is 401 with the body <c>{"error":"Unauthorized"}</c>.
/// </summary>
internal sealed class AdminKeyMiddleware(RequestDelegate next, AdminKey key, ILogger<AdminKeyMiddleware> logger)
{
    private static readonly byte[] UnauthorizedBody = """{"error":"Unauthorized"}"""u8.ToArray();

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
        context.Response.ContentLength = UnauthorizedBody.Length;
        await context.Response.Body.WriteAsync(UnauthorizedBody, context.RequestAborted).ConfigureAwait(false);
    }
}
