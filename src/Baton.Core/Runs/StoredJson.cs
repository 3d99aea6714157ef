using System.Runtime.InteropServices;
using System.Text.Json;

namespace Baton.Runs;

/// <summary>
/// JSON the engine stores from outside (a run's input, an event's payload) must be text every store keeps and every
/// reader reads back: no string in it may hold U+0000 (PostgreSQL's jsonb cannot) or half a surrogate pair (no UTF-8
/// text can: System.Text.Json refuses to read or write such a string, so a stored one would fail the run that reads it
/// and every later read of the run). JSON can carry either only as a <c>\u</c> escape, so text without one is checked
/// by a single search.
/// </summary>
internal static class StoredJson
{
    /// <summary>Why <paramref name="json"/> cannot be stored (a phrase to follow "input " or "the payload "), or null when it can.</summary>
    public static string? Problem(JsonElement json) =>
        json.ValueKind is JsonValueKind.Undefined ? null : Problem(JsonMarshal.GetRawUtf8Value(json));

    /// <inheritdoc cref="Problem(JsonElement)"/>
    public static string? Problem(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IndexOf("\\u"u8) < 0)
        {
            return null;
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 4096,
        });
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped)
            {
                continue;
            }

            string text;
            try
            {
                text = reader.GetString()!;
            }
            catch (InvalidOperationException)
            {
                return "holds a \\u escape of half a surrogate pair (\\uD800-\\uDFFF without its other half), which is not text";
            }

            if (text.Contains('\0', StringComparison.Ordinal))
            {
                return "holds the character U+0000 (\\u0000), which a store cannot keep";
            }
        }

        return null;
    }
}
