using System.Security.Cryptography;
using Baton.Server.Auth;
using Microsoft.AspNetCore.DataProtection;

namespace Baton.Server.Api;

/// <summary>
/// The admin-key check of the <c>/docs</c> routes: the <c>X-ADMIN-KEY</c> header, the docs session cookie, or (once)
/// <c>?key=</c>, which is traded for the cookie by a redirect to the same path without the query, so the key is never
/// written into the page or the URLs it builds. The routes carry <c>AdminKeyMetadata(Required: false)</c> so the
/// authorization policy leaves them to this check; a refusal has the admin-key scheme's 401 body.
/// </summary>
internal sealed class DocsAccess(AdminKey key, IDataProtectionProvider protection)
{
    public const string CookieName = "baton-docs";

    /// <summary>How long a docs sign-in holds: the encrypted value carries its expiry, so a copied cookie stops working by itself.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private readonly ITimeLimitedDataProtector _protector = protection.CreateProtector("Baton.Server.Docs.Session.v2").ToTimeLimitedDataProtector();

    /// <summary>Wraps an endpoint's handler in the check (an endpoint convention).</summary>
    public void Guard(EndpointBuilder endpoint)
    {
        endpoint.Metadata.Add(new AdminKeyMetadata(Required: false, AllowQueryKey: true));
        // The check below is the docs' own (header, session cookie or ?key=), so the authorization policy leaves them alone.
        endpoint.Metadata.Add(new Microsoft.AspNetCore.Authorization.AllowAnonymousAttribute());
        var inner = endpoint.RequestDelegate ?? throw new InvalidOperationException("a /docs endpoint has no handler");
        endpoint.RequestDelegate = context => CheckAsync(context, inner);
    }

    private async Task CheckAsync(HttpContext context, RequestDelegate inner)
    {
        var request = context.Request;
        if (key.Matches(request.Headers[AdminKeyEndpointExtensions.HeaderName].ToString()) || key.Matches(FromCookie(request)))
        {
            await inner(context).ConfigureAwait(false);
            return;
        }

        if (key.Matches(request.Query[AdminKeyEndpointExtensions.QueryName].ToString()))
        {
            context.Response.Cookies.Append(CookieName, _protector.Protect(request.Query[AdminKeyEndpointExtensions.QueryName].ToString(), Lifetime), new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = request.IsHttps,
                // Under the app's path base: a cookie for /docs was never sent to /baton/docs/ (401 right after the redirect).
                Path = request.PathBase.ToUriComponent() + ApiDocs.Path,
                IsEssential = true,
            });
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers["Referrer-Policy"] = "no-referrer";
            // Straight to the page (/docs/): /docs itself would only redirect once more. The path as the cookie names it: routes
            // match in any case, cookie paths do not, and /DOCS?key= set a cookie the browser never sent back (401 after it).
            // Escaped as the request wrote it: the decoded path (/docs/é, /docs/%0d%0a) went into Location as it was, and
            // Kestrel refused it with a 500.
            var asked = request.Path.HasValue ? request.Path.ToUriComponent() : ApiDocs.Path;
            var rest = asked.Length > ApiDocs.Path.Length ? asked[ApiDocs.Path.Length..] : "";
            context.Response.Redirect(request.PathBase.ToUriComponent() + ApiDocs.Path + (rest.Length == 0 ? "/" : rest));
            return;
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.ContentType = "application/json";
        var body = BatonAuthorizationResultHandler.UnauthorizedQueryBody;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private string? FromCookie(HttpRequest request)
    {
        if (request.Cookies[CookieName] is not { Length: > 0 } protectedKey)
        {
            return null;
        }

        try
        {
            return _protector.Unprotect(protectedKey);
        }
        catch (CryptographicException)
        {
            // A cookie from another key ring (another node, a restart without persisted keys) or tampered with: no session.
            return null;
        }
    }
}
