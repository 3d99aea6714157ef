using Microsoft.AspNetCore.Http;

namespace Baton.Dashboard.Access;

/// <summary>Headers on every dashboard response: no framing, scripts and styles from the dashboard only, no plugins or base element, no caching.</summary>
internal static class SecurityHeaders
{
    public static void Apply(HttpContext http)
    {
        var headers = http.Response.Headers;
        headers["X-Frame-Options"] = "DENY";
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "same-origin";
        // base-uri is not covered by default-src: without it an injected <base href> would move every relative address.
        headers["Content-Security-Policy"] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
        // What antiforgery sets on pages with a token; set on all so it has nothing to override (and warn about).
        headers.CacheControl = "no-cache, no-store";
        headers.Pragma = "no-cache";
    }
}
