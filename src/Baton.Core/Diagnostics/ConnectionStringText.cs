using System.Text.RegularExpressions;

namespace Baton.Diagnostics;

/// <summary>
/// A connection string's parse error as it may be shown (a start-up failure, an options validation error). The parser's
/// reason never quotes the whole string, but a password holding an unquoted <c>;</c> is read as more keywords, and the
/// reason names those: Npgsql's "Couldn't set cd (Parameter 'cd')" for <c>Password=ab;cd=ef</c>.
/// </summary>
public static partial class ConnectionStringText
{
    /// <summary>The keys of an ADO.NET connection string that hold its password: what is masked here and registered as a log secret.</summary>
    public static IReadOnlyList<string> PasswordKeys { get; } = ["Password", "Pwd"];

    // A key at the start of the string or after a ';', then '='.
    private static readonly Regex PasswordKey = new(
        @"(?:^|;)\s*(?:" + string.Join('|', PasswordKeys.Select(Regex.Escape)) + @")\s*=",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>
    /// <paramref name="reason"/>, why <paramref name="connectionString"/> could not be read, with every word that follows
    /// its password key (<see cref="PasswordKeys"/>) masked: where the password ends cannot be known once it failed to
    /// parse. With a password key, a hint to quote a value holding <c>;</c> follows.
    /// </summary>
    public static string ParseErrorWithoutPassword(string connectionString, string reason)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        ArgumentNullException.ThrowIfNull(reason);
        var key = PasswordKey.Match(connectionString);
        if (!key.Success)
        {
            return reason;
        }

        var words = WordSeparators().Split(connectionString[(key.Index + key.Length)..])
            .Where(w => w.Length > 0)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .OrderByDescending(w => w.Length);
        foreach (var word in words)
        {
            reason = Regex.Replace(reason, $@"(?<!\w){Regex.Escape(word)}(?!\w)", UrlText.Mask, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        }

        return reason + " (a value holding ';' must be quoted: Password='a;b')";
    }

    [GeneratedRegex(@"[;=\s'""]+", RegexOptions.CultureInvariant)]
    private static partial Regex WordSeparators();
}
