using Baton.Server.Auth;
using Microsoft.AspNetCore.OpenApi;
using Scalar.AspNetCore;

namespace Baton.Server.Api;

/// <summary>
/// The OpenAPI UI: Scalar (its script embedded in Scalar.AspNetCore, so it works offline) at <c>/docs</c>, behind the
/// admin key like the API. A browser cannot send the <c>X-ADMIN-KEY</c> header, so <c>/docs</c> also takes the key once
/// as <c>?key=</c> (as seed 000's <c>GET /sync?key=</c> does) and answers with a redirect to <c>/docs/</c> that drops it
/// from the address and sets a session cookie holding the key encrypted with Data Protection (HttpOnly, SameSite=Strict,
/// path <c>/docs</c> under the request's path base, Secure on https). The page and its document (<c>/docs/openapi/v1.json</c>) accept that cookie, so
/// the key never appears in a page, a script or a URL the page builds. <c>/openapi/v1.json</c> itself stays header-only.
/// </summary>
internal static class ApiDocs
{
    public const string Path = "/docs";
    private const string DocumentPattern = "/docs/openapi/{documentName}.json";

    /// <summary>Fills the key, parameters, request and response schemas and examples into the document (<see cref="ApiContract"/>, <see cref="ApiExamples"/>).</summary>
    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer<ApiContract>();
        options.AddDocumentTransformer<ApiExamples>();
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        var access = new DocsAccess(
            app.ServiceProvider.GetRequiredService<AdminKey>(),
            app.ServiceProvider.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>());
        RequestDelegate? scalar = null;
        app.MapOpenApi(DocumentPattern).ExcludeFromDescription().Add(access.Guard);
        // Scalar redirects /docs to /docs/ itself; this route does it after the key check, so a ?key= becomes the cookie.
        app.MapGet(Path, (HttpContext context) => context.Request.Path.Value!.EndsWith('/')
                ? scalar!(context)
                : TypedResults.Redirect(context.Request.PathBase.ToUriComponent() + Path + "/").ExecuteAsync(context))
            .ExcludeFromDescription()
            .Add(access.Guard);
        app.MapScalarApiReference(Path, (options, context) =>
            {
                options.WithTitle("Baton API");
                options.WithOpenApiRoutePattern(DocumentPattern);
                context.Response.Headers.CacheControl = "no-store";
                context.Response.Headers["Referrer-Policy"] = "no-referrer";
            })
            .ExcludeFromDescription()
            .Add(endpoint =>
            {
                var pattern = (endpoint as RouteEndpointBuilder)?.RoutePattern.RawText ?? "";
                if (pattern.EndsWith(".js", StringComparison.Ordinal) || pattern.EndsWith(".svg", StringComparison.Ordinal))
                {
                    // The page's script and icon are the public Scalar bundle, which the browser loads without the key.
                    endpoint.Metadata.Add(new AdminKeyMetadata(Required: false, AllowQueryKey: false));
                    endpoint.Metadata.Add(new Microsoft.AspNetCore.Authorization.AllowAnonymousAttribute());
                    return;
                }

                access.Guard(endpoint);
                if (pattern.Contains("{documentName", StringComparison.Ordinal))
                {
                    scalar = endpoint.RequestDelegate;
                }
            });
    }
}
