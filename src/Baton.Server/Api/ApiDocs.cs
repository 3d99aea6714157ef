using Baton.Server.Auth;
using Microsoft.AspNetCore.OpenApi;
using Scalar.AspNetCore;

namespace Baton.Server.Api;

/// <summary>
/// The OpenAPI UI: Scalar (its script embedded in Scalar.AspNetCore, so it works offline) at <c>/docs</c>, behind the
/// admin key like the API. A browser cannot send the <c>X-ADMIN-KEY</c> header, so <c>/docs</c> also takes the key as
/// <c>?key=</c>, as seed 000's <c>GET /sync?key=</c> does; the page then reads the document from
/// <c>/docs/openapi/v1.json</c> with the same key (the page is sent with <c>Cache-Control: no-store</c> and
/// <c>Referrer-Policy: no-referrer</c>). <c>/openapi/v1.json</c> itself stays header-only.
/// </summary>
internal static class ApiDocs
{
    public const string Path = "/docs";
    private const string DocumentPattern = "/docs/openapi/{documentName}.json";

    /// <summary>Fills request and response schemas and examples into the document (see <see cref="ApiExamples"/>).</summary>
    public static void Configure(OpenApiOptions options) => options.AddDocumentTransformer<ApiExamples>();

    public static void Map(WebApplication app)
    {
        RequestDelegate? scalar = null;
        app.MapOpenApi(DocumentPattern).RequireAdminKey(allowQueryKey: true).ExcludeFromDescription();
        // Scalar redirects /docs to /docs/ and drops the query, and with it a ?key=: this redirect keeps it.
        app.MapGet(Path, (HttpContext context) => context.Request.Path.Value!.EndsWith('/')
                ? scalar!(context)
                : TypedResults.Redirect(Path + "/" + context.Request.QueryString).ExecuteAsync(context))
            .RequireAdminKey(allowQueryKey: true)
            .ExcludeFromDescription();
        app.MapScalarApiReference(Path, (options, context) =>
            {
                options.WithTitle("Baton API");
                var key = context.Request.Query[AdminKeyEndpointExtensions.QueryName].ToString();
                options.WithOpenApiRoutePattern(key.Length == 0 ? DocumentPattern : $"{DocumentPattern}?{AdminKeyEndpointExtensions.QueryName}={Uri.EscapeDataString(key)}");
                context.Response.Headers.CacheControl = "no-store";
                context.Response.Headers["Referrer-Policy"] = "no-referrer";
            })
            .RequireAdminKey(allowQueryKey: true)
            .ExcludeFromDescription()
            .Add(endpoint =>
            {
                var pattern = (endpoint as RouteEndpointBuilder)?.RoutePattern.RawText ?? "";
                if (pattern.EndsWith(".js", StringComparison.Ordinal) || pattern.EndsWith(".svg", StringComparison.Ordinal))
                {
                    // The page's script and icon are the public Scalar bundle, which the browser loads without the key.
                    endpoint.Metadata.Add(new AdminKeyMetadata(Required: false, AllowQueryKey: false));
                }
                else if (pattern.Contains("{documentName", StringComparison.Ordinal))
                {
                    scalar = endpoint.RequestDelegate;
                }
            });
    }
}
