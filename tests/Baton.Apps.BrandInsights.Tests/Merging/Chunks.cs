using Baton.Apps.BrandInsights.Merging;

namespace Baton.Apps.BrandInsights.Tests.Merging;

/// <summary>Chunks for the merge tests, built in code so each expectation can be computed by hand.</summary>
internal static class Chunks
{
    public static ChunkResult Of(
        string id,
        IReadOnlyList<ChunkCluster>? clusters = null,
        Sentiment? sentiment = null,
        IReadOnlyList<string>? topics = null,
        bool? spike = null,
        string? summary = null,
        double? mentionCount = null) =>
        new(id, "b", "2025-01-01T00:00:00Z", sentiment ?? Sentiment.Zero, topics ?? [], clusters ?? [], spike, summary, mentionCount);

    public static ChunkCluster Cluster(string id, double[]? centroid, params string[] mentions) =>
        new(id, "label " + id, mentions, Spike: false, centroid, SentimentScore: null);

    /// <summary>Merges batches one after the other, keeping each cluster's mention set the way Redis would.</summary>
    public static BrandState MergeBatches(double threshold, params IReadOnlyList<ChunkResult>[] batches)
    {
        var merger = new BrandMerger(threshold, 20);
        var state = new BrandState();
        var sets = new Dictionary<long, HashSet<string>>();
        foreach (var batch in batches)
        {
            var plan = merger.Plan(state, batch);
            var known = plan.EarlierClusterMentions.ToDictionary(p => p.Key, p => p.Value.Select(m => sets[p.Key].Contains(m)).ToArray());
            foreach (var (seq, added) in BrandMerger.Complete(state, plan, known))
            {
                if (!sets.TryGetValue(seq, out var set))
                {
                    sets[seq] = set = [];
                }

                set.UnionWith(added);
            }
        }

        return state;
    }
}
