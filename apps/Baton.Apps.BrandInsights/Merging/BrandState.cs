using System.Text.Json.Serialization;

namespace Baton.Apps.BrandInsights.Merging;

/// <summary>
/// What a brand's summary is rebuilt from: the merged aggregate of every chunk merged so far, kept small. Only what can
/// still reach the summary is kept: the first five topics (later ones never become dominant), every cluster with a
/// centroid (later clusters may join it; its mention strings live in a Redis set per cluster), the five largest
/// clusters without a centroid (they never change, so one that five others outrank can never return), the latest
/// chunk summaries.
/// </summary>
internal sealed class BrandState
{
    /// <summary>Counts the batches merged; guards the write (a state changed by someone else is read again).</summary>
    public long Version { get; set; }

    public long TotalChunks { get; set; }

    public double TotalMentions { get; set; }

    public Sentiment Sentiment { get; set; } = Sentiment.Zero;

    public bool SpikeDetected { get; set; }

    /// <summary>Distinct topics in first-seen order, at most <see cref="BrandMerger.TopCount"/>.</summary>
    public List<string> Topics { get; set; } = [];

    /// <summary>Merged clusters with a centroid, in creation order.</summary>
    public List<MergedCluster> Clusters { get; set; } = [];

    /// <summary>The largest clusters without a centroid, by mentions (ties: earlier first), at most <see cref="BrandMerger.TopCount"/>.</summary>
    public List<MergedCluster> Plain { get; set; } = [];

    /// <summary>The creation number the next merged cluster gets.</summary>
    public long NextSeq { get; set; }

    /// <summary>The latest chunk summaries, oldest first.</summary>
    public List<string> ChunkSummaries { get; set; } = [];

    /// <summary>
    /// The last batch that changed the state (its run) and what it did: a retry of that batch's merge whose write applied
    /// but whose attempt was cut off reports it. One per brand: runs of a brand merge one at a time, so only the latest
    /// batch can be the one retried.
    /// </summary>
    public BatchReceipt? LastBatch { get; set; }
}

/// <summary>A batch's run id and what its merge did.</summary>
internal sealed record BatchReceipt(string RunId, State.MergeOutcome Outcome);

/// <summary>A merged cluster: the first member's id, label and centroid, its spike OR-ed, its mention count.</summary>
internal sealed class MergedCluster
{
    private double _norm = -1;

    /// <summary>Creation order across all of the brand's merged clusters (the tie-break of the top five).</summary>
    public long Seq { get; set; }

    public required string Id { get; set; }

    public required string Label { get; set; }

    public double[]? Centroid { get; set; }

    public bool Spike { get; set; }

    public double? SentimentScore { get; set; }

    /// <summary>Distinct mentions for a cluster with a centroid; the raw count for one without.</summary>
    public long Mentions { get; set; }

    [JsonIgnore]
    public double Norm => _norm >= 0 ? _norm : _norm = BrandMerger.Norm(Centroid ?? []);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BrandState))]
internal sealed partial class BrandStateJson : JsonSerializerContext;
