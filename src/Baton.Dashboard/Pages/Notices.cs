using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Dashboard.Pages;

/// <summary>
/// The notice a page shows after an action (a cancel, a retry, a schedule saved or refused) travels in the redirect's
/// query as <c>?notice=</c>, protected by Data Protection (the dashboard's key ring, shared by the nodes that share the
/// session cookie) for <see cref="Lifetime"/>: a link from elsewhere cannot make the dashboard show words it did not
/// write. Before, any <c>?message=</c> text was shown as a notice.
/// </summary>
internal static class Notices
{
    public const string Parameter = "notice";

    /// <summary>How long a redirect's notice can be shown (a reload within it shows it again).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private const string Purpose = "Baton.Dashboard.Notice.v1";

    /// <summary>A redirect to <paramref name="path"/> (without a query) showing <paramref name="message"/>.</summary>
    public static IResult Redirect(HttpContext http, string path, string message) =>
        Results.Redirect($"{path}?{Parameter}={Uri.EscapeDataString(Protector(http).Protect(message, Lifetime))}");

    /// <summary>The message a <c>?notice=</c> carries, or null when it is missing, expired, or not one this dashboard wrote.</summary>
    public static string? Read(HttpContext http, string? notice)
    {
        if (string.IsNullOrEmpty(notice))
        {
            return null;
        }

        try
        {
            return Protector(http).Unprotect(notice);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static ITimeLimitedDataProtector Protector(HttpContext http) =>
        http.RequestServices.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose).ToTimeLimitedDataProtector();
}
