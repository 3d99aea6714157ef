namespace Baton.Events;

/// <summary>What an event name and an event's idempotency key may be; checked where events are sent and awaited.</summary>
public static class EventNames
{
    /// <summary>The longest event name: 100 characters.</summary>
    public const int MaxNameLength = 100;

    /// <summary>The longest idempotency key of an event: 200 characters.</summary>
    public const int MaxIdempotencyKeyLength = 200;

    /// <summary>The largest payload, as JSON text: 256 KiB.</summary>
    public const int MaxPayloadLength = 256 * 1024;

    /// <summary>
    /// Whether <paramref name="json"/> is over <see cref="MaxPayloadLength"/> bytes in UTF-8, as the HTTP API counts its
    /// body (before, the client and the inbox counted UTF-16 characters: 400 KB of accented text passed).
    /// </summary>
    public static bool PayloadTooLarge(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return json.Length > MaxPayloadLength
            || (json.Length > MaxPayloadLength / 3 && System.Text.Encoding.UTF8.GetByteCount(json) > MaxPayloadLength);
    }

    /// <summary>
    /// Null when <paramref name="name"/> is a valid event name (1 to 100 of <c>A-Z a-z 0-9 . _ -</c>, since it
    /// travels in URLs and step keys), otherwise why not.
    /// </summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "an event needs a name";
        }

        if (name.Length > MaxNameLength)
        {
            return $"an event name is at most {MaxNameLength} characters";
        }

        if (name is "." or "..")
        {
            // A URL path drops these segments: such an event could be waited for but never sent over HTTP.
            return "an event name cannot be '.' or '..'";
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return "an event name has only letters, digits, '.', '_' and '-'";
            }
        }

        return null;
    }
}
