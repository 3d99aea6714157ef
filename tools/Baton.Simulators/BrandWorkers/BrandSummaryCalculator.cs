using System.Text.Json;

namespace Baton.Simulators.BrandWorkers;

/// <summary>A merged cluster as the summary shows it.</summary>
public sealed record ExpectedCluster(string Id, string Label, int Mentions, bool Spike);

/// <summary>What <c>summary:brand:{brand}</c> must hold after the given chunks (generatedAt and the summary text aside).</summary>
public sealed record ExpectedBrandSummary(
    string Brand,
    int TotalChunks,
    double TotalMentions,
    double Positive,
    double Neutral,
    double Negative,
    double Score,
    IReadOnlyList<string> DominantTopics,
    IReadOnlyList<ExpectedCluster> Clusters,
    bool SpikeDetected,
    IReadOnlyList<string> ChunkSummaries)
{
    /// <summary>This summary in the shape the seed's API reads (camelCase), with <paramref name="generatedAt"/> and a placeholder summary text.</summary>
    public string ToSummaryJson(DateTimeOffset generatedAt) => JsonSerializer.Serialize(new
    {
        brand = Brand,
        generatedAt,
        totalChunks = TotalChunks,
        totalMentions = TotalMentions,
        sentiment = new { positive = Positive, neutral = Neutral, negative = Negative, score = Score },
        dominantTopics = DominantTopics,
        clusters = Clusters.Select(c => new { id = c.Id, label = c.Label, mentions = c.Mentions, spike = c.Spike }),
        spikeDetected = SpikeDetected,
        summary = $"{Brand}: expected summary",
        chunkSummaries = ChunkSummaries,
    });
}

/// <summary>
/// The merge rules of issue 15 (the original service's aggregator), written independently of the app, applied to
/// chunk payloads in arrival order; a chunk id already merged is skipped, a payload that is not a valid chunk is
/// refused. Rules: sentiment fields summed; topics unioned in first-seen order; <c>spikeDetected</c> true when any
/// chunk's own <c>spikeDetected</c> is true; chunk summaries (non-empty strings) listed in order; total mentions the
/// sum of <c>meta.mentionCount</c> where it is a number, else of the chunk's cluster mention counts; clusters merged
/// greedily: one with a non-empty centroid joins the first merged cluster with a centroid whose cosine similarity is
/// at least the threshold (mentions unioned, sentimentScore the mean of the two with a missing one counted as 0,
/// spike OR-ed, id, label and centroid of the first kept), else it is a new merged cluster; one without a centroid is
/// kept as it is. The summary lists the first five topics and the five merged clusters with the most mentions (ties
/// keep merge order, as a stable sort does).
/// </summary>
public sealed class BrandSummaryCalculator(string brand, double threshold = 0.75)
{
    private static readonly string[] SentimentFields = ["positive", "neutral", "negative", "score"];
    private readonly HashSet<string> _merged = new(StringComparer.Ordinal);
    private readonly List<string> _topics = [];
    private readonly HashSet<string> _topicSet = new(StringComparer.Ordinal);
    private readonly List<string> _summaries = [];
    private readonly List<MergedCluster> _clusters = [];
    private double _positive, _neutral, _negative, _score, _mentions;
    private bool _spike;

    /// <summary>Chunks merged so far (each chunk id once).</summary>
    public int TotalChunks => _merged.Count;

    /// <summary>Merges <paramref name="payload"/>: false when it is not a valid chunk or its chunk id was merged before.</summary>
    public bool Add(string payload)
    {
        JsonElement chunk;
        try
        {
            using var document = JsonDocument.Parse(payload);
            chunk = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return false;
        }

        if (!IsValid(chunk) || !_merged.Add(chunk.GetProperty("chunkId").GetString()!))
        {
            return false;
        }

        var sentiment = chunk.GetProperty("sentiment");
        _positive += sentiment.GetProperty("positive").GetDouble();
        _neutral += sentiment.GetProperty("neutral").GetDouble();
        _negative += sentiment.GetProperty("negative").GetDouble();
        _score += sentiment.GetProperty("score").GetDouble();
        foreach (var topic in chunk.GetProperty("topics").EnumerateArray())
        {
            if (_topicSet.Add(topic.GetString()!))
            {
                _topics.Add(topic.GetString()!);
            }
        }

        _spike |= chunk.TryGetProperty("spikeDetected", out var spike) && spike.ValueKind == JsonValueKind.True;
        if (chunk.TryGetProperty("summary", out var summary) && summary.ValueKind == JsonValueKind.String && summary.GetString() is { Length: > 0 } text)
        {
            _summaries.Add(text);
        }

        var clusters = chunk.GetProperty("clusters").EnumerateArray().ToList();
        _mentions += chunk.TryGetProperty("meta", out var meta) && meta.ValueKind == JsonValueKind.Object
                     && meta.TryGetProperty("mentionCount", out var count) && count.ValueKind == JsonValueKind.Number
            ? count.GetDouble()
            : clusters.Sum(c => c.GetProperty("mentions").GetArrayLength());
        foreach (var cluster in clusters)
        {
            MergeCluster(cluster);
        }

        return true;
    }

    public ExpectedBrandSummary Result() => new(
        brand,
        _merged.Count,
        _mentions,
        _positive,
        _neutral,
        _negative,
        _score,
        [.. _topics.Take(5)],
        [.. _clusters.OrderByDescending(c => c.Mentions.Count).Take(5).Select(c => new ExpectedCluster(c.Id, c.Label, c.Mentions.Count, c.Spike))],
        _spike,
        [.. _summaries]);

    /// <summary>Cosine similarity; 0 when either vector is zero or their lengths differ.</summary>
    public static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count || a.Count == 0)
        {
            return 0;
        }

        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Count; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return na == 0 || nb == 0 ? 0 : dot / (Math.Sqrt(na) * Math.Sqrt(nb));
    }

    private void MergeCluster(JsonElement cluster)
    {
        var mentions = cluster.GetProperty("mentions").EnumerateArray().Select(m => m.GetString()!).ToList();
        double? score = cluster.TryGetProperty("sentimentScore", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetDouble() : null;
        var spike = cluster.GetProperty("spike").GetBoolean();
        List<double>? centroid = cluster.TryGetProperty("centroid", out var c) && c.ValueKind == JsonValueKind.Array && c.GetArrayLength() > 0
            ? [.. c.EnumerateArray().Select(v => v.GetDouble())]
            : null;
        if (centroid is not null && _clusters.FirstOrDefault(m => m.Centroid is not null && Cosine(m.Centroid, centroid) >= threshold) is { } target)
        {
            foreach (var mention in mentions)
            {
                if (target.MentionSet.Add(mention))
                {
                    target.Mentions.Add(mention);
                }
            }

            target.Score = ((target.Score ?? 0) + (score ?? 0)) / 2;
            target.Spike |= spike;
            return;
        }

        // Kept as it is: its mention list unchanged (a later merge into it unions into that list).
        _clusters.Add(new MergedCluster(cluster.GetProperty("id").GetString()!, cluster.GetProperty("label").GetString()!, centroid, mentions, score, spike));
    }

    /// <summary>The payload shape of issue 15: required fields present with their types; optional ones, when present, typed.</summary>
    public static bool IsValid(JsonElement chunk)
    {
        if (chunk.ValueKind != JsonValueKind.Object
            || !IsString(chunk, "chunkId", nonEmpty: true) || !IsString(chunk, "brand", nonEmpty: true) || !IsString(chunk, "processedAt", nonEmpty: false)
            || !chunk.TryGetProperty("sentiment", out var sentiment) || sentiment.ValueKind != JsonValueKind.Object
            || !SentimentFields.All(f => sentiment.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.Number)
            || !chunk.TryGetProperty("topics", out var topics) || topics.ValueKind != JsonValueKind.Array
            || topics.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String)
            || !chunk.TryGetProperty("clusters", out var clusters) || clusters.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        return clusters.EnumerateArray().All(cluster =>
            cluster.ValueKind == JsonValueKind.Object && IsString(cluster, "id", nonEmpty: false) && IsString(cluster, "label", nonEmpty: false)
            && cluster.TryGetProperty("mentions", out var mentions) && mentions.ValueKind == JsonValueKind.Array
            && mentions.EnumerateArray().All(m => m.ValueKind == JsonValueKind.String)
            && cluster.TryGetProperty("spike", out var spike) && spike.ValueKind is JsonValueKind.True or JsonValueKind.False);
    }

    private static bool IsString(JsonElement element, string name, bool nonEmpty) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && (!nonEmpty || value.GetString()!.Length > 0);

    private sealed class MergedCluster(string id, string label, List<double>? centroid, List<string> mentions, double? score, bool spike)
    {
        public string Id => id;
        public string Label => label;
        public List<double>? Centroid => centroid;
        public List<string> Mentions { get; } = mentions;
        public HashSet<string> MentionSet { get; } = new(mentions, StringComparer.Ordinal);
        public double? Score { get; set; } = score;
        public bool Spike { get; set; } = spike;
    }
}
