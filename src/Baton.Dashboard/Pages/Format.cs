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

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            return System.Text.Json.JsonSerializer.Serialize(document.RootElement, Indented);
        }
        catch (System.Text.Json.JsonException)
        {
            return json;
        }
    }

    // The page HTML-encodes the text, so the JSON needs no escaping of its own: non-ASCII and <>&' are shown as they are
    // (the default encoder wrote them as \uXXXX, unreadable for Hebrew or Japanese).
    private static readonly System.Text.Json.JsonSerializerOptions Indented = new()
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
