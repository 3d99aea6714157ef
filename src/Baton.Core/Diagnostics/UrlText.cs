namespace Baton.Diagnostics;

/// <summary>
/// A configured URL as it may be shown (a response, a stored error, a start-up message): the password of its user info
/// (<c>user:password@</c>) as <c>***</c>. Works on text too, so a URL that did not parse is shown without its password.
/// The one URL masker: the server's settings report, the apps (the review gateway's worker URL, CatalogSync's services)
/// and the RabbitMQ connection's address all show a URL through it.
/// </summary>
public static class UrlText
{
    /// <summary>What a password is shown as.</summary>
    public const string Mask = "***";

    /// <summary><paramref name="url"/> as configured, the password masked.</summary>
    public static string WithoutPassword(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return WithoutPassword(url.OriginalString);
    }

    /// <summary>A URL's text, the password of its user info masked; text without one as it is.</summary>
    public static string WithoutPassword(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var authority = text.IndexOf("://", StringComparison.Ordinal) is var scheme and >= 0 ? scheme + 3 : 0;
        // In a URL that parses, the user info ends before the path ('@' in a path is not one). In text that does not, a
        // password holding '/', '?' or '#' is often why: the user info then runs to the last '@' (before: to the first
        // '/', so 'http://u:pa/ss@host' was shown whole, password and all).
        var end = !Uri.TryCreate(text, UriKind.Absolute, out _) ? text.Length
            : text.IndexOfAny(['/', '?', '#'], authority) is var slash and >= 0 ? slash : text.Length;
        var at = end > authority ? text.LastIndexOf('@', end - 1, end - authority) : -1;
        var colon = at < 0 ? -1 : text.IndexOf(':', authority, at - authority);
        return colon < 0 ? text : string.Concat(text.AsSpan(0, colon + 1), Mask, text.AsSpan(at));
    }

    /// <summary>The scheme, user info (password masked), host and port of <paramref name="url"/>: where a request went.</summary>
    public static string Authority(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return WithoutPassword(url.GetLeftPart(UriPartial.Authority));
    }
}
