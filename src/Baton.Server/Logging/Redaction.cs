using System.Text;

namespace Baton.Server.Logging;

/// <summary>Removes secrets from what request logging writes.</summary>
internal static class Redaction
{
    public const string Mask = "***";

    /// <summary>Query parameters whose values are never logged (compared case-insensitively).</summary>
    private static readonly string[] SecretParameters = ["key", "admin_key", "adminkey", "token", "access_token", "password", "secret"];

    /// <summary>
    /// The query string with the values of secret parameters replaced by <c>***</c>. Works on the raw
    /// text so an encoded or repeated parameter (<c>?k%65y=</c>, <c>?key=a&amp;key=b</c>) is masked too.
    /// </summary>
    public static string RedactQuery(string? query)
    {
        if (string.IsNullOrEmpty(query) || query == "?")
        {
            return "";
        }

        var builder = new StringBuilder(query.Length);
        var body = query[0] == '?' ? query[1..] : query;
        builder.Append('?');
        var first = true;
        foreach (var pair in body.Split('&'))
        {
            if (!first)
            {
                builder.Append('&');
            }

            first = false;
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var rawName = equals < 0 ? pair : pair[..equals];
            string name;
            try
            {
                name = Uri.UnescapeDataString(rawName.Replace('+', ' '));
            }
            catch (UriFormatException)
            {
                name = rawName;
            }

            if (equals >= 0 && SecretParameters.Any(s => string.Equals(s, name.Trim(), StringComparison.OrdinalIgnoreCase)))
            {
                builder.Append(rawName).Append('=').Append(Mask);
            }
            else
            {
                builder.Append(pair);
            }
        }

        return builder.ToString();
    }
}
