using System.Globalization;
using System.Text.Json;

namespace Baton.Simulators.BrandWorkers;

/// <summary>
/// Compares a stored summary (the JSON of <c>summary:brand:{brand}</c>) with an <see cref="ExpectedBrandSummary"/>.
/// <c>generatedAt</c> (a time) and <c>summary</c> (free text: issue 15 only says what it is built from, so its wording
/// is the app's choice) are not compared; extra fields are allowed. Numbers match within 1e-6 relative (sums of
/// decimals may be added in another order).
/// </summary>
public static class BrandSummaryComparer
{
    /// <summary>The first difference as "field: expected X, actual Y", or null when they match.</summary>
    public static string? FirstDifference(ExpectedBrandSummary expected, string actualJson)
    {
        JsonElement actual;
        try
        {
            using var document = JsonDocument.Parse(actualJson);
            actual = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return $"the summary is not JSON: {ex.Message}";
        }

        if (actual.ValueKind != JsonValueKind.Object)
        {
            return "the summary is not a JSON object";
        }

        var sentiment = actual.TryGetProperty("sentiment", out var s) ? s : default;
        return Text("brand", expected.Brand, actual)
            ?? Number("totalChunks", expected.TotalChunks, actual)
            ?? Number("totalMentions", expected.TotalMentions, actual)
            ?? Number("sentiment.positive", expected.Positive, sentiment, "positive")
            ?? Number("sentiment.neutral", expected.Neutral, sentiment, "neutral")
            ?? Number("sentiment.negative", expected.Negative, sentiment, "negative")
            ?? Number("sentiment.score", expected.Score, sentiment, "score")
            ?? Strings("dominantTopics", expected.DominantTopics, actual)
            ?? Bool("spikeDetected", expected.SpikeDetected, actual, "spikeDetected")
            ?? Clusters(expected.Clusters, actual)
            ?? Strings("chunkSummaries", expected.ChunkSummaries, actual);
    }

    private static string? Clusters(IReadOnlyList<ExpectedCluster> expected, JsonElement actual)
    {
        if (!actual.TryGetProperty("clusters", out var clusters) || clusters.ValueKind != JsonValueKind.Array)
        {
            return "clusters: missing or not an array";
        }

        var list = clusters.EnumerateArray().ToList();
        if (list.Count != expected.Count)
        {
            return $"clusters: expected {expected.Count} entries, actual {list.Count}";
        }

        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var difference = Text($"clusters[{i}].id", e.Id, list[i], "id")
                ?? Text($"clusters[{i}].label", e.Label, list[i], "label")
                ?? Number($"clusters[{i}].mentions", e.Mentions, list[i], "mentions")
                ?? Bool($"clusters[{i}].spike", e.Spike, list[i], "spike");
            if (difference is not null)
            {
                return difference;
            }
        }

        return null;
    }

    private static string? Text(string field, string expected, JsonElement parent, string? name = null) =>
        Property(parent, name ?? field) is { ValueKind: JsonValueKind.String } value && value.GetString() == expected
            ? null
            : $"{field}: expected \"{expected}\", actual {Show(parent, name ?? field)}";

    private static string? Number(string field, double expected, JsonElement parent, string? name = null) =>
        Property(parent, name ?? field) is { ValueKind: JsonValueKind.Number } value
        && Math.Abs(value.GetDouble() - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected))
            ? null
            : $"{field}: expected {expected.ToString(CultureInfo.InvariantCulture)}, actual {Show(parent, name ?? field)}";

    private static string? Bool(string field, bool expected, JsonElement parent, string name) =>
        Property(parent, name) is { ValueKind: JsonValueKind.True or JsonValueKind.False } value && value.GetBoolean() == expected
            ? null
            : $"{field}: expected {(expected ? "true" : "false")}, actual {Show(parent, name)}";

    private static string? Strings(string field, IReadOnlyList<string> expected, JsonElement parent)
    {
        if (Property(parent, field) is not { ValueKind: JsonValueKind.Array } value)
        {
            return $"{field}: missing or not an array";
        }

        var actual = value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()).ToList();
        for (var i = 0; i < Math.Max(actual.Count, expected.Count); i++)
        {
            if (i >= actual.Count || i >= expected.Count || actual[i] != expected[i])
            {
                return $"{field}[{i}]: expected {(i < expected.Count ? $"\"{expected[i]}\"" : "nothing")}, actual {(i < actual.Count ? $"\"{actual[i]}\"" : "nothing")} ({expected.Count} expected, {actual.Count} actual)";
            }
        }

        return null;
    }

    private static JsonElement? Property(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) ? value : null;

    private static string Show(JsonElement parent, string name) => Property(parent, name) is { } value ? value.GetRawText() : "missing";
}
