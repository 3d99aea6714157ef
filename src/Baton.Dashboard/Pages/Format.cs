using System.Globalization;
using Baton.Runs;

namespace Baton.Dashboard.Pages;

/// <summary>How times, durations and states are written on the pages.</summary>
internal static class Format
{
    public static string Time(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "–";

    public static string Duration(TimeSpan span) => span.TotalSeconds switch
    {
        < 1 => $"{span.TotalMilliseconds:0} ms",
        < 60 => $"{span.TotalSeconds:0.#} s",
        < 3600 => $"{(int)span.TotalMinutes} min {span.Seconds} s",
        _ => $"{(int)span.TotalHours} h {span.Minutes} min",
    };

    public static string Duration(DateTimeOffset? start, DateTimeOffset? end) =>
        start is { } s && end is { } e ? Duration(e - s) : "–";

    public static string Status(RunStatus status) => status.ToWireName();

    /// <summary>Pretty-printed JSON, or the text as it is when it does not parse.</summary>
    public static string Json(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return "";
        }

        if (json.Length > MaxShownJson)
        {
            return Truncated(json);
        }

        string indented;
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            indented = System.Text.Json.JsonSerializer.Serialize(document.RootElement, Indented);
        }
        catch (System.Text.Json.JsonException)
        {
            return json;
        }

        // Indenting deep JSON can multiply it (before, a review: 240 KB of nested arrays made a 15.7 MB page): past the bound the
        // text is shown as stored.
        return indented.Length <= MaxShownJson ? indented : json;
    }

    /// <summary>The most characters of a JSON value (an input, output, payload or result) a page shows: 64 Ki.</summary>
    public const int MaxShownJson = 64 * 1024;

    private static string Truncated(string json) =>
        string.Concat(json.AsSpan(0, MaxShownJson), $"\n… {json.Length - MaxShownJson:N0} more characters not shown (the API returns the whole value)");

    // The page HTML-encodes the text, so the JSON needs no escaping of its own: non-ASCII and <>&' are shown as they are
    // (the default encoder wrote them as \uXXXX, unreadable for Hebrew or Japanese).
    private static readonly System.Text.Json.JsonSerializerOptions Indented = new()
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
