using System.Text;
using System.Text.Json;

namespace Baton.Apps.BrandInsights.Merging;

/// <summary>
/// Reads a raw chunk payload and checks it against seed 001's shape. Required: <c>chunkId</c> (non-empty string),
/// <c>brand</c> (the list's brand), <c>processedAt</c> (string), <c>sentiment</c> with four numbers, <c>topics</c>
/// (strings), <c>clusters</c> (objects with <c>id</c>, <c>label</c>, <c>mentions</c> strings, <c>spike</c> bool).
/// Optional (absent or null): <c>centroid</c> (numbers), <c>sentimentScore</c> (number), <c>spikeDetected</c> (bool),
/// <c>summary</c> (string), <c>meta</c> (object; <c>mentionCount</c> counts only when a number).
/// </summary>
internal static class ChunkParser
{
    /// <summary>The chunk, or null with <paramref name="reason"/> saying what is wrong (the raw text is never quoted).</summary>
    public static ChunkResult? Parse(string raw, string brand, int maxBytes, out string? reason)
    {
        var bytes = Encoding.UTF8.GetByteCount(raw);
        if (bytes > maxBytes)
        {
            reason = $"payload is {bytes} bytes, over the {maxBytes}-byte limit";
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(raw, new JsonDocumentOptions { MaxDepth = MaxNesting });
            return Read(document.RootElement, brand, out reason);
        }
        catch (JsonException ex)
        {
            // Where, not the reader's message: that quotes a bad literal with the rest of the payload after it.
            reason = Baton.Redis.RejectedItem.NotJsonReason(ex);
            return null;
        }
        catch (ShapeException ex)
        {
            reason = ex.Message;
            return null;
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json refuses to read a string that is half a surrogate pair ("\ud800" alone: a worker that cut
            // text in the middle of an emoji). Only this chunk is bad; before, the exception failed the mapper and
            // sent the whole batch to the failed list.
            reason = "a string holds half a surrogate pair (a \\uD800-\\uDFFF escape without its other half), which is not text";
            return null;
        }
    }

    /// <summary>
    /// The deepest nesting a chunk may have, as the run store reads JSON. Only the top three levels are read, so depth
    /// costs nothing here; before, a limit of 32 dead-lettered a valid chunk with deeper <c>meta</c> as "not JSON", though
    /// the seed's JSON.parse takes it.
    /// </summary>
    private const int MaxNesting = 4096;

    private static ChunkResult Read(JsonElement root, string brand, out string? reason)
    {
        reason = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ShapeException($"payload is a JSON {Kind(root)}, not an object");
        }

        var chunkId = RequiredString(root, "chunkId");
        if (chunkId.Length == 0)
        {
            throw new ShapeException("chunkId is empty");
        }

        var chunkBrand = RequiredString(root, "brand");
        if (!string.Equals(chunkBrand, brand, StringComparison.Ordinal))
        {
            // Neither name: the chunk's is its payload, which is never logged (README), and the list's is in the log line.
            throw new ShapeException("brand is not the list's brand");
        }

        var processedAt = RequiredString(root, "processedAt");
        var sentimentElement = Required(root, "sentiment", JsonValueKind.Object);
        var sentiment = new Sentiment(
            RequiredNumber(sentimentElement, "positive", "sentiment."),
            RequiredNumber(sentimentElement, "neutral", "sentiment."),
            RequiredNumber(sentimentElement, "negative", "sentiment."),
            RequiredNumber(sentimentElement, "score", "sentiment."));
        var topics = Strings(Required(root, "topics", JsonValueKind.Array), "topics");
        var clusters = new List<ChunkCluster>();
        var index = 0;
        foreach (var cluster in Required(root, "clusters", JsonValueKind.Array).EnumerateArray())
        {
            clusters.Add(ReadCluster(cluster, $"clusters[{index++}]"));
        }

        var spike = Optional(root, "spikeDetected", JsonValueKind.True, "") is { } s ? s.ValueKind == JsonValueKind.True : (bool?)null;
        var summary = Optional(root, "summary", JsonValueKind.String, "")?.GetString();
        double? mentionCount = null;
        if (Optional(root, "meta", JsonValueKind.Object, "") is { } meta
            && meta.TryGetProperty("mentionCount", out var count) && count.ValueKind == JsonValueKind.Number && InRange(count.GetDouble()))
        {
            mentionCount = count.GetDouble();
        }

        return new ChunkResult(chunkId, chunkBrand, processedAt, sentiment, topics, clusters, spike, summary, mentionCount);
    }

    private static ChunkCluster ReadCluster(JsonElement cluster, string path)
    {
        if (cluster.ValueKind != JsonValueKind.Object)
        {
            throw new ShapeException($"{path} is a JSON {Kind(cluster)}, not an object");
        }

        var prefix = path + ".";
        var id = RequiredString(cluster, "id", prefix);
        var label = RequiredString(cluster, "label", prefix);
        var mentions = Strings(Required(cluster, "mentions", JsonValueKind.Array, prefix), prefix + "mentions");
        var spike = Required(cluster, "spike", JsonValueKind.True, prefix).ValueKind == JsonValueKind.True;
        double[]? centroid = null;
        if (Optional(cluster, "centroid", JsonValueKind.Array, prefix) is { } vector)
        {
            centroid = new double[vector.GetArrayLength()];
            var i = 0;
            foreach (var value in vector.EnumerateArray())
            {
                if (value.ValueKind != JsonValueKind.Number)
                {
                    throw new ShapeException($"{prefix}centroid[{i}] is a JSON {Kind(value)}, not a number");
                }

                centroid[i] = Finite(value, $"{prefix}centroid[{i}]");
                i++;
            }

            centroid = centroid.Length == 0 ? null : centroid;
        }

        var score = Optional(cluster, "sentimentScore", JsonValueKind.Number, prefix) is { } s ? Finite(s, prefix + "sentimentScore") : (double?)null;
        return new ChunkCluster(id, label, mentions, spike, centroid, score);
    }

    private static JsonElement Required(JsonElement parent, string name, JsonValueKind kind, string prefix = "")
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            throw new ShapeException($"{prefix}{name} is missing");
        }

        return Check(value, name, kind, prefix);
    }

    private static JsonElement? Optional(JsonElement parent, string name, JsonValueKind kind, string prefix) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
            ? Check(value, name, kind, prefix)
            : null;

    private static JsonElement Check(JsonElement value, string name, JsonValueKind kind, string prefix)
    {
        var matches = kind == JsonValueKind.True ? value.ValueKind is JsonValueKind.True or JsonValueKind.False : value.ValueKind == kind;
        if (!matches)
        {
            var wanted = kind switch
            {
                JsonValueKind.True => "a boolean",
                JsonValueKind.Array => "an array",
                JsonValueKind.Object => "an object",
                JsonValueKind.Number => "a number",
                _ => "a string",
            };
            throw new ShapeException($"{prefix}{name} is a JSON {Kind(value)}, not {wanted}");
        }

        return value;
    }

    private static string RequiredString(JsonElement parent, string name, string prefix = "") =>
        Required(parent, name, JsonValueKind.String, prefix).GetString()!;

    private static double RequiredNumber(JsonElement parent, string name, string prefix) =>
        Finite(Required(parent, name, JsonValueKind.Number, prefix), prefix + name);

    /// <summary>
    /// The largest magnitude a chunk's number may have. Sums of finite numbers can still overflow: two sentiment counts of
    /// 1e308 made the state Infinity, which cannot be written as JSON, and failed the whole batch with its good chunks.
    /// </summary>
    public const double MaxMagnitude = 1e15;

    private static bool InRange(double value) => double.IsFinite(value) && Math.Abs(value) <= MaxMagnitude;

    private static double Finite(JsonElement number, string path) =>
        number.GetDouble() is var value && InRange(value) ? value : throw new ShapeException($"{path} is out of range (at most 1e15 in magnitude)");

    private static List<string> Strings(JsonElement array, string path)
    {
        var list = new List<string>(array.GetArrayLength());
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw new ShapeException($"{path}[{i}] is a JSON {Kind(item)}, not a string");
            }

            list.Add(item.GetString()!);
            i++;
        }

        return list;
    }

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => value.ValueKind.ToString().ToLowerInvariant(),
    };

    private sealed class ShapeException(string message) : Exception(message);
}
