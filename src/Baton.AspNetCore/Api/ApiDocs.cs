using Baton.AspNetCore;
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
/// <para>
/// The document is named <see cref="DocumentName"/>, not ASP.NET Core's default <c>v1</c>, so an app that embeds Baton keeps an
/// OpenAPI document of its own (<c>AddOpenApi()</c>, <c>MapOpenApi()</c>) and Baton's transformers never run on it. Baton serves
/// its document at <see cref="OwnDocumentPath"/>, and at <see cref="DefaultDocumentPath"/> too unless the app registered a
/// document named <c>v1</c> itself (the runnable server, or an app without OpenAPI of its own, keeps the URL it documents).
/// </para>
/// </summary>
internal static class ApiDocs
{
    public const string Path = "/docs";

    /// <summary>The name of Baton's OpenAPI document, and the group name of Baton's endpoints (in no document of the app's own).</summary>
    public const string DocumentName = "baton";

    /// <summary>Baton's document, whatever the app's own OpenAPI.</summary>
    public const string OwnDocumentPath = "/openapi/baton.json";

    /// <summary>Baton's document where the app has no <c>v1</c> document of its own: the runnable server's documented URL.</summary>
    public const string DefaultDocumentPath = "/openapi/v1.json";

    private const string DefaultDocumentName = "v1";
    private const string DocumentPattern = "/docs/openapi/{documentName}.json";

    /// <summary>The document the <c>/docs</c> page loads (Scalar fills its default document name, <c>v1</c>, into <see cref="DocumentPattern"/>).</summary>
    private const string DocsDocumentPath = "/docs/openapi/v1.json";

    /// <summary>
    /// Fills the key, parameters, request and response schemas and examples into the document (<see cref="ApiContract"/>,
    /// <see cref="ApiExamples"/>), and lists Baton's endpoints in it: every route (but those excluded from descriptions) on the
    /// runnable server, which owns them all; only Baton's own (group <see cref="DocumentName"/>) in an app that embeds Baton.
    /// </summary>
    public static void Configure(OpenApiOptions options, BatonApiOptions api)
    {
        options.AddDocumentTransformer<ApiContract>();
        options.AddDocumentTransformer<ApiExamples>();
        var everyRoute = api.AnswersEveryRoute;
        options.ShouldInclude = description =>
            string.Equals(description.GroupName, DocumentName, StringComparison.OrdinalIgnoreCase) || everyRoute && description.GroupName is null;
    }

    /// <summary>
    /// Whether the app registered an OpenAPI document named <c>v1</c> of its own (<c>AddOpenApi()</c> without a name, or with
    /// <c>"v1"</c>): then <see cref="DefaultDocumentPath"/> is the app's, served by its own <c>MapOpenApi()</c>.
    /// </summary>
    public static bool AppHasDefaultDocument(IServiceProvider services) =>
        services.GetServices<Microsoft.Extensions.Options.IConfigureOptions<OpenApiOptions>>()
            .OfType<Microsoft.Extensions.Options.ConfigureNamedOptions<OpenApiOptions>>()
            .Any(c => string.Equals(c.Name, DefaultDocumentName, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Maps <paramref name="path"/> to Baton's document with ASP.NET Core's OpenAPI endpoint. That endpoint serves the document
    /// its <c>documentName</c> argument names (a route value, else the query's, else <c>v1</c>); here it is always Baton's.
    /// </summary>
    public static IEndpointConventionBuilder MapDocument(IEndpointRouteBuilder routes, string path) =>
        routes.MapOpenApi(path).AddEndpointFilter((context, next) =>
        {
            for (var i = 0; i < context.Arguments.Count; i++)
            {
                if (context.Arguments[i] is string)
                {
                    context.Arguments[i] = DocumentName;
                }
            }

            return next(context);
        });

    public static void Map(IEndpointRouteBuilder app)
    {
        var access = new DocsAccess(
            app.ServiceProvider.GetRequiredService<AdminKey>(),
            app.ServiceProvider.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>());
        RequestDelegate? scalar = null;
        MapDocument(app, DocsDocumentPath).ExcludeFromDescription().Add(access.Guard);
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
