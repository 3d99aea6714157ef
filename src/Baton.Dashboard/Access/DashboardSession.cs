using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;

namespace Baton.Dashboard.Access;

/// <summary>
/// The signed-in state: the admin key, encrypted with ASP.NET Core Data Protection, in a session cookie that is
/// HttpOnly (no script reads it), SameSite=Strict (no other site sends it), Secure on https and scoped to the
/// dashboard's path (under the host's path base). Every request decrypts it and checks the key again, so a changed
/// admin key signs everyone out.
/// The encrypted value carries its own expiry (<see cref="Lifetime"/>), so a copied cookie stops working by itself
/// even in a browser that is never closed; signing out deletes the browser's copy.
/// </summary>
internal sealed class DashboardSession(IDataProtectionProvider protection, DashboardKeyCheck keyCheck)
{
    public const string CookieName = "baton_ui";

    /// <summary>How long a sign-in holds: a working day.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private readonly ITimeLimitedDataProtector _protector = protection.CreateProtector("Baton.Dashboard.Session.v2").ToTimeLimitedDataProtector();

    /// <summary>The session of the dashboard that mapped the current endpoint.</summary>
    public static DashboardSession Of(HttpContext http) =>
        http.GetEndpoint()?.Metadata.GetMetadata<DashboardSession>() ?? throw new InvalidOperationException("not a dashboard endpoint");

    public bool IsSignedIn(HttpContext http)
    {
        if (!http.Request.Cookies.TryGetValue(CookieName, out var value) || string.IsNullOrEmpty(value))
        {
            return false;
        }

        try
        {
            return keyCheck.Matches(_protector.Unprotect(value));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Checks <paramref name="key"/>; on a match sets the cookie and returns true.</summary>
    public bool TrySignIn(HttpContext http, string? key)
    {
        if (string.IsNullOrEmpty(key) || !keyCheck.Matches(key))
        {
            return false;
        }

        http.Response.Cookies.Append(CookieName, _protector.Protect(key, Lifetime), CookieOptions(http));
        return true;
    }

    public void SignOut(HttpContext http) => http.Response.Cookies.Delete(CookieName, CookieOptions(http));

    private static CookieOptions CookieOptions(HttpContext http) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = DashboardPaths.Of(http).Root,
        IsEssential = true,
        // No Expires: a session cookie, gone when the browser closes.
    };
}

/// <summary>Checks a candidate admin key; given by the host (the server holds the key, the dashboard never does).</summary>
internal sealed class DashboardKeyCheck(Func<string?, bool> matches)
{
    public bool Matches(string? candidate) => matches(candidate);
}
