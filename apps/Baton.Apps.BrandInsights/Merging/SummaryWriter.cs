using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Baton.Apps.BrandInsights.Merging;

/// <summary>
/// Writes <c>summary:brand:&lt;brand&gt;</c> in the shape seed 001's API reads: <c>{brand, generatedAt, totalChunks,
/// totalMentions, sentiment{positive,neutral,negative,score}, dominantTopics, clusters[{id,label,mentions,spike}],
/// spikeDetected, summary, chunkSummaries}</c>.
/// </summary>
internal static class SummaryWriter
{
    /// <summary>
    /// Text as the seed's JSON.stringify writes it: non-ASCII and <c>&lt;&gt;&amp;'+</c> as they are, not as <c>\uXXXX</c>
    /// (the default encoder's, which is for HTML pages). Quotes, backslashes and control characters are still escaped;
    /// characters outside the BMP (emoji) are written as escaped surrogate pairs, which JSON.parse reads the same.
    /// </summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(string brand, BrandState state, DateTimeOffset generatedAt)
    {
        var top = BrandMerger.Top(state);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("brand", brand);
            json.WriteString("generatedAt", generatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteNumber("totalChunks", state.TotalChunks);
            json.WriteNumber("totalMentions", state.TotalMentions);
            json.WriteStartObject("sentiment");
            json.WriteNumber("positive", state.Sentiment.Positive);
            json.WriteNumber("neutral", state.Sentiment.Neutral);
            json.WriteNumber("negative", state.Sentiment.Negative);
            json.WriteNumber("score", state.Sentiment.Score);
            json.WriteEndObject();
            json.WriteStartArray("dominantTopics");
            foreach (var topic in state.Topics.Take(BrandMerger.TopCount))
            {
                json.WriteStringValue(topic);
            }

            json.WriteEndArray();
            json.WriteStartArray("clusters");
            foreach (var cluster in top)
            {
                json.WriteStartObject();
                json.WriteString("id", cluster.Id);
                json.WriteString("label", cluster.Label);
                json.WriteNumber("mentions", cluster.Mentions);
                json.WriteBoolean("spike", cluster.Spike);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteBoolean("spikeDetected", state.SpikeDetected);
            json.WriteString("summary", Text(brand, state, top));
            json.WriteStartArray("chunkSummaries");
            foreach (var summary in state.ChunkSummaries)
            {
                json.WriteStringValue(summary);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// <c>"&lt;brand&gt;: N chunks, M mentions. Dominant topics: a, b (or none). Spike detected.|No spike detected.
    /// Top clusters: Label (k mentions), ... (or none)."</c>
    /// </summary>
    public static string Text(string brand, BrandState state, IReadOnlyList<MergedCluster> top)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{brand}: {state.TotalChunks} chunks, {state.TotalMentions} mentions. ");
        text.Append("Dominant topics: ").Append(state.Topics.Count == 0 ? "none" : string.Join(", ", state.Topics.Take(BrandMerger.TopCount))).Append(". ");
        text.Append(state.SpikeDetected ? "Spike detected. " : "No spike detected. ");
        text.Append("Top clusters: ");
        text.Append(top.Count == 0 ? "none" : string.Join(", ", top.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Label} ({c.Mentions} mentions)"))));
        return text.Append('.').ToString();
    }
}
