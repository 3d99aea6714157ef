namespace Baton.Apps.BrandInsights.Merging;

/// <summary>
/// Seed 001's merge rules, applied chunk by chunk in arrival order onto a <see cref="BrandState"/>: sentiment fields
/// summed; topics unioned in first-seen order; <c>spikeDetected</c> OR-ed; chunk summaries listed (the latest kept);
/// total mentions += <c>meta.mentionCount</c> when a number, else the chunk's cluster mention counts; a cluster with a
/// centroid joins the first merged cluster with a centroid whose cosine similarity to it is at least the threshold
/// (mentions unioned, <c>sentimentScore</c> the mean of the two with missing as 0, <c>spike</c> OR-ed, the first
/// centroid kept), else it starts a merged cluster; a cluster without a centroid is kept as it is.
/// </summary>
/// <remarks>
/// Mention strings of clusters merged in earlier batches live outside the state (a Redis set per cluster), so a merge
/// runs in two phases: <see cref="Plan"/> applies everything and lists, per earlier cluster, the mentions the batch
/// adds to it; <see cref="Complete"/> counts those not already in its set.
/// </remarks>
internal sealed class BrandMerger(double threshold, int maxChunkSummaries)
{
    /// <summary>Dominant topics and top clusters shown in the summary.</summary>
    public const int TopCount = 5;

    /// <summary>Merges <paramref name="chunks"/> (in order, none merged before) into <paramref name="state"/>, except the new mentions of earlier clusters.</summary>
    public MergePlan Plan(BrandState state, IReadOnlyList<ChunkResult> chunks)
    {
        var firstNewSeq = state.NextSeq;
        var plan = new MergePlan(firstNewSeq);
        foreach (var chunk in chunks)
        {
            state.TotalChunks++;
            state.TotalMentions += chunk.Mentions;
            state.Sentiment = state.Sentiment.Add(chunk.Sentiment);
            state.SpikeDetected |= chunk.SpikeDetected == true;
            foreach (var topic in chunk.Topics)
            {
                if (state.Topics.Count >= TopCount)
                {
                    break;
                }

                if (!state.Topics.Contains(topic, StringComparer.Ordinal))
                {
                    state.Topics.Add(topic);
                }
            }

            if (!string.IsNullOrEmpty(chunk.Summary) && maxChunkSummaries > 0)
            {
                state.ChunkSummaries.Add(chunk.Summary);
                if (state.ChunkSummaries.Count > maxChunkSummaries)
                {
                    state.ChunkSummaries.RemoveRange(0, state.ChunkSummaries.Count - maxChunkSummaries);
                }
            }

            foreach (var cluster in chunk.Clusters)
            {
                MergeCluster(state, plan, cluster);
            }
        }

        foreach (var (seq, mentions) in plan.NewClusterMentions)
        {
            state.Clusters.First(c => c.Seq == seq).Mentions = mentions.Count;
        }

        return plan;
    }

    /// <summary>
    /// Adds to each earlier cluster the mentions of <paramref name="plan"/> that <paramref name="known"/> says its set does
    /// not hold yet (<paramref name="known"/>[seq][i] for <see cref="MergePlan.EarlierClusterMentions"/>[seq][i]).
    /// Returns, per cluster, the mention strings to add to its set.
    /// </summary>
    public static Dictionary<long, List<string>> Complete(BrandState state, MergePlan plan, IReadOnlyDictionary<long, bool[]> known)
    {
        var added = new Dictionary<long, List<string>>();
        foreach (var (seq, candidates) in plan.EarlierClusterMentions)
        {
            var flags = known[seq];
            var fresh = new List<string>();
            for (var i = 0; i < candidates.Count; i++)
            {
                if (!flags[i])
                {
                    fresh.Add(candidates[i]);
                }
            }

            if (fresh.Count > 0)
            {
                state.Clusters.First(c => c.Seq == seq).Mentions += fresh.Count;
                added[seq] = fresh;
            }
        }

        foreach (var (seq, mentions) in plan.NewClusterMentions)
        {
            if (mentions.Count > 0)
            {
                added[seq] = [.. mentions];
            }
        }

        return added;
    }

    /// <summary>The five merged clusters with the most mentions, ties by creation order.</summary>
    public static IReadOnlyList<MergedCluster> Top(BrandState state) =>
        [.. state.Clusters.Concat(state.Plain).OrderByDescending(c => c.Mentions).ThenBy(c => c.Seq).Take(TopCount)];

    /// <summary>Cosine similarity: dot / (sqrt(|a|²) × sqrt(|b|²)); 0 for vectors of different lengths or a zero vector.</summary>
    public static double Cosine(double[] a, double aNorm, double[] b, double bNorm)
    {
        if (a.Length != b.Length || aNorm == 0 || bNorm == 0)
        {
            return 0;
        }

        var dot = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
        }

        return dot / (aNorm * bNorm);
    }

    /// <summary>Cosine similarity of two vectors (see the overload).</summary>
    public static double Cosine(double[] a, double[] b) => Cosine(a, Norm(a), b, Norm(b));

    public static double Norm(double[] vector)
    {
        var sum = 0.0;
        foreach (var x in vector)
        {
            sum += x * x;
        }

        return Math.Sqrt(sum);
    }

    private void MergeCluster(BrandState state, MergePlan plan, ChunkCluster cluster)
    {
        if (cluster.Centroid is null or { Length: 0 })
        {
            AddPlain(state, new MergedCluster
            {
                Seq = state.NextSeq++,
                Id = cluster.Id,
                Label = cluster.Label,
                Spike = cluster.Spike,
                SentimentScore = cluster.SentimentScore,
                Mentions = cluster.Mentions.Count,
            });
            return;
        }

        var norm = Norm(cluster.Centroid);
        foreach (var merged in state.Clusters)
        {
            // Vectors of different lengths or a zero vector are not similar at any threshold (even 0).
            if (merged.Centroid!.Length == cluster.Centroid.Length && merged.Norm > 0 && norm > 0
                && Cosine(merged.Centroid, merged.Norm, cluster.Centroid, norm) >= threshold)
            {
                merged.Spike |= cluster.Spike;
                merged.SentimentScore = ((merged.SentimentScore ?? 0) + (cluster.SentimentScore ?? 0)) / 2;
                plan.AddMentions(merged.Seq, cluster.Mentions);
                return;
            }
        }

        var created = new MergedCluster
        {
            Seq = state.NextSeq++,
            Id = cluster.Id,
            Label = cluster.Label,
            Centroid = cluster.Centroid,
            Spike = cluster.Spike,
            SentimentScore = cluster.SentimentScore,
        };
        state.Clusters.Add(created);
        plan.AddMentions(created.Seq, cluster.Mentions);
    }

    private static void AddPlain(BrandState state, MergedCluster cluster)
    {
        // Kept sorted by mentions (descending), then creation; a newcomer goes after those with as many mentions.
        var at = state.Plain.FindIndex(c => c.Mentions < cluster.Mentions);
        state.Plain.Insert(at < 0 ? state.Plain.Count : at, cluster);
        if (state.Plain.Count > TopCount)
        {
            state.Plain.RemoveAt(TopCount);
        }
    }
}

/// <summary>What <see cref="BrandMerger.Plan"/> leaves to check against the clusters' mention sets.</summary>
internal sealed class MergePlan(long firstNewSeq)
{
    private readonly Dictionary<long, HashSet<string>> _seen = [];

    /// <summary>Per cluster merged in an earlier batch: the distinct mentions this batch brings it, in first-seen order.</summary>
    public Dictionary<long, List<string>> EarlierClusterMentions { get; } = [];

    /// <summary>Per cluster created in this batch: its distinct mentions.</summary>
    public Dictionary<long, HashSet<string>> NewClusterMentions { get; } = [];

    public void AddMentions(long seq, IReadOnlyList<string> mentions)
    {
        if (seq >= firstNewSeq)
        {
            if (!NewClusterMentions.TryGetValue(seq, out var set))
            {
                NewClusterMentions[seq] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            set.UnionWith(mentions);
            return;
        }

        if (!_seen.TryGetValue(seq, out var seen))
        {
            _seen[seq] = seen = new HashSet<string>(StringComparer.Ordinal);
            EarlierClusterMentions[seq] = [];
        }

        foreach (var mention in mentions)
        {
            if (seen.Add(mention))
            {
                EarlierClusterMentions[seq].Add(mention);
            }
        }
    }
}
