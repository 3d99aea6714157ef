using System.Text;
using System.Text.Json;

namespace Baton.Apps.ReviewGateway.Enqueue;

/// <summary>
/// Reads and checks <c>POST /enqueue</c> bodies: a JSON object with a string <c>placeId</c> of 1 to
/// <see cref="MaxPlaceIdLength"/> characters from <c>[A-Za-z0-9_-]</c> (Google place ids are
/// URL-safe base64-like; the charset also keeps <c>:</c> out, which separates the parts of a job id).
/// Unknown fields are ignored and the field name is matched case-insensitively, as Go's encoding/json does.
/// </summary>
internal static class EnqueueRequestReader
{
    public const int MaxPlaceIdLength = 256;

    /// <summary>Largest body read; a larger one is refused before parsing.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    public const string PlaceIdRequired = "placeId is required";

    /// <summary>The placeId, or null with the reason in <paramref name="error"/>.</summary>
    public static string? Read(ReadOnlySpan<byte> body, out string? error)
    {
        if (body.IsEmpty)
        {
            error = "request body is empty; expected a JSON object with placeId";
            return null;
        }

        // Go's encoding/json reads unknown fields nested up to 10,000 levels (a body within MaxBodyBytes cannot nest more
        // than 8,192); the limit of 16 this had refused what the seed's gateway accepts.
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 10_000 });
        string? placeId = null;
        var seen = false;
        try
        {
            if (!reader.Read())
            {
                error = "request body is empty; expected a JSON object with placeId";
                return null;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                error = "request body must be a JSON object";
                return null;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                // Only PropertyName tokens reach here at depth 1: values are read or skipped below.
                var isPlaceId = IsPlaceId(ref reader);
                reader.Read();
                if (!isPlaceId)
                {
                    reader.Skip();
                    continue;
                }

                if (seen)
                {
                    error = "placeId is given more than once";
                    return null;
                }

                seen = true;
                switch (reader.TokenType)
                {
                    case JsonTokenType.Null:
                        break;
                    case JsonTokenType.String:
                        if (!TryGetText(ref reader, out placeId))
                        {
                            // Invalid UTF-8, or half a surrogate pair as an escape: the seed's Go decoder reads it as
                            // U+FFFD, which the character rule refuses.
                            error = PlaceIdCharacters;
                            return null;
                        }

                        break;
                    default:
                        reader.Skip();
                        error = "placeId must be a string";
                        // Finish reading so malformed JSON after the value is reported as such.
                        while (reader.Read())
                        {
                        }

                        return null;
                }
            }

            // Trailing content after the object is malformed JSON.
            if (reader.Read())
            {
                error = "invalid JSON: unexpected content after the object";
                return null;
            }
        }
        catch (JsonException ex)
        {
            error = $"invalid JSON: {FirstSentence(ex.Message)}";
            return null;
        }

        error = Validate(placeId);
        return error is null ? placeId : null;
    }

    /// <summary>Null when <paramref name="placeId"/> is acceptable, else the reason.</summary>
    public static string? Validate(string? placeId)
    {
        if (string.IsNullOrEmpty(placeId))
        {
            return PlaceIdRequired;
        }

        if (placeId.Length > MaxPlaceIdLength)
        {
            return $"placeId must be at most {MaxPlaceIdLength} characters (got {placeId.Length})";
        }

        foreach (var c in placeId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return PlaceIdCharacters;
            }
        }

        return null;
    }

    private const string PlaceIdCharacters = "placeId may contain only letters, digits, '-' and '_'";

    /// <summary>
    /// Whether the property name is placeId, in any case. A name that is not text (invalid UTF-8, half a surrogate pair as
    /// an escape; System.Text.Json throws on comparing it) is not placeId: an unknown field, skipped as the seed does.
    /// </summary>
    private static bool IsPlaceId(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.ValueTextEquals("placeId"u8) || IsPlaceIdIgnoringCase(ref reader);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool IsPlaceIdIgnoringCase(ref Utf8JsonReader reader) =>
        reader.ValueSpan.Length == 7 && !reader.ValueIsEscaped
            ? Encoding.ASCII.GetString(reader.ValueSpan).Equals("placeId", StringComparison.OrdinalIgnoreCase)
            : reader.ValueIsEscaped && string.Equals(reader.GetString(), "placeId", StringComparison.OrdinalIgnoreCase);

    /// <summary>The token's text; false when it is not text (System.Text.Json throws for invalid UTF-8 or an unpaired surrogate escape).</summary>
    private static bool TryGetText(ref Utf8JsonReader reader, out string? text)
    {
        try
        {
            text = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            text = null;
            return false;
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
