using System.Text;

namespace Baton.Server.Logging;

/// <summary>Removes secrets from what request logging writes.</summary>
internal static class Redaction
{
    public const string Mask = "***";

    /// <summary>Query parameters whose values are never logged (compared case-insensitively).</summary>
    private static readonly string[] SecretParameters = ["key", "admin_key", "adminkey", "token", "access_token", "password", "secret"];

    /// <summary>
    /// The query string with the values of secret parameters replaced by <c>***</c>, and any name or value
    /// that holds a configured secret (<paramref name="secrets"/>, compared decoded, so a partly encoded
    /// one is caught) replaced whole. Works on the raw text so an encoded or repeated parameter
    /// (<c>?k%65y=</c>, <c>?key=a&amp;key=b</c>) is masked too.
    /// </summary>
    public static string RedactQuery(string? query, SecretRedactor? secrets = null)
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
            var rawValue = equals < 0 ? "" : pair[(equals + 1)..];
            var name = Decode(rawName);
            if (secrets is not null && (secrets.Contains(name) || secrets.Contains(rawName)))
            {
                rawName = Mask;
            }

            if (equals < 0)
            {
                builder.Append(rawName);
                continue;
            }

            var secretValue = SecretParameters.Any(s => string.Equals(s, name.Trim(), StringComparison.OrdinalIgnoreCase))
                || secrets is not null && (secrets.Contains(Decode(rawValue)) || secrets.Contains(rawValue));
            builder.Append(rawName).Append('=').Append(secretValue ? Mask : rawValue);
        }

        return builder.ToString();
    }

    private static string Decode(string raw)
    {
        try
        {
            return Uri.UnescapeDataString(raw.Replace('+', ' '));
        }
        catch (UriFormatException)
        {
            return raw;
        }
    }
}
