namespace Baton.Apps.BrandInsights.Merging;

/// <summary>One worker's chunk result, as seed 001's workers push it (<see cref="ChunkParser"/> checks the shape).</summary>
internal sealed record ChunkResult(
    string ChunkId,
    string Brand,
    string ProcessedAt,
    Sentiment Sentiment,
    IReadOnlyList<string> Topics,
    IReadOnlyList<ChunkCluster> Clusters,
    bool? SpikeDetected,
    string? Summary,
    double? MentionCount)
{
    /// <summary>The chunk's share of <c>totalMentions</c>: <c>meta.mentionCount</c> when it is a number, else its clusters' mention counts.</summary>
    public double Mentions => MentionCount ?? Clusters.Sum(c => (double)c.Mentions.Count);
}

/// <summary>Sentiment counts and score; summed over chunks.</summary>
internal sealed record Sentiment(double Positive, double Neutral, double Negative, double Score)
{
    public static Sentiment Zero { get; } = new(0, 0, 0, 0);

    public Sentiment Add(Sentiment other) => new(Positive + other.Positive, Neutral + other.Neutral, Negative + other.Negative, Score + other.Score);
}

/// <summary>A cluster of mentions in one chunk; <see cref="Centroid"/> is null when absent or empty.</summary>
internal sealed record ChunkCluster(string Id, string Label, IReadOnlyList<string> Mentions, bool Spike, double[]? Centroid, double? SentimentScore);
