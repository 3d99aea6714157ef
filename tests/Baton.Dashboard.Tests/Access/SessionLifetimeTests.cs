using Baton.Dashboard.Access;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;

namespace Baton.Dashboard.Tests.Access;

/// <summary>
/// The dashboard's session cookie carries its own expiry (12 hours): before, it was the key encrypted with no time limit,
/// so a copied cookie worked until the admin key changed.
/// </summary>
public sealed class SessionLifetimeTests
{
    private const string Key = "session-lifetime-key-0123456789";

    [Fact]
    public void SignIn_RightKey_CookieExpiresTwelveHoursLater()
    {
        var protection = new EphemeralDataProtectionProvider();
        var session = new DashboardSession(protection, new DashboardKeyCheck(k => k == Key));
        var http = new DefaultHttpContext();

        Assert.True(session.TrySignIn(http, Key));
        var cookie = http.Response.Headers.SetCookie.ToString();
        var value = Uri.UnescapeDataString(cookie[(DashboardSession.CookieName.Length + 1)..cookie.IndexOf(';', StringComparison.Ordinal)]);
        var key = protection.CreateProtector("Baton.Dashboard.Session.v2").ToTimeLimitedDataProtector().Unprotect(value, out var expires);

        Assert.Equal(Key, key);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromHours(12) - TimeSpan.FromMinutes(1), TimeSpan.FromHours(12));
    }

    [Fact]
    public void IsSignedIn_CookieWhoseTimeRanOut_Refused()
    {
        var protection = new EphemeralDataProtectionProvider();
        var session = new DashboardSession(protection, new DashboardKeyCheck(k => k == Key));
        var expired = protection.CreateProtector("Baton.Dashboard.Session.v2").ToTimeLimitedDataProtector().Protect(Key, DateTimeOffset.UtcNow.AddSeconds(-1));
        var fresh = protection.CreateProtector("Baton.Dashboard.Session.v2").ToTimeLimitedDataProtector().Protect(Key, DateTimeOffset.UtcNow.AddHours(1));

        Assert.False(session.IsSignedIn(WithCookie(expired)));
        Assert.True(session.IsSignedIn(WithCookie(fresh)));
    }

    private static DefaultHttpContext WithCookie(string value)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers.Cookie = $"{DashboardSession.CookieName}={Uri.EscapeDataString(value)}";
        return http;
    }
}
