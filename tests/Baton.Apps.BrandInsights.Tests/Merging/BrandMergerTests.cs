using Baton.Apps.BrandInsights.Merging;
using static Baton.Apps.BrandInsights.Tests.Merging.Chunks;

namespace Baton.Apps.BrandInsights.Tests.Merging;

public sealed class BrandMergerTests
{
    // cos([1,0], [3,4]) = 3 / (1 * 5) = 0.6 exactly as a double.
    private static readonly double[] Axis = [1, 0];
    private static readonly double[] Slanted = [3, 4];

    [Fact]
    public void Plan_TwoChunks_SumsSentimentUnionsTopicsOrsSpike()
    {
        var state = MergeBatches(0.75, [
            Of("c1", sentiment: new Sentiment(5, 2, 1, 4), topics: ["launch", "price"], spike: false, summary: "first"),
            Of("c2", sentiment: new Sentiment(1, 1, 3, -2.5), topics: ["price", "store"], spike: true, summary: "second"),
        ]);

        Assert.Equal(new Sentiment(6, 3, 4, 1.5), state.Sentiment);
        Assert.Equal(["launch", "price", "store"], state.Topics);
        Assert.True(state.SpikeDetected);
        Assert.Equal(["first", "second"], state.ChunkSummaries);
        Assert.Equal(2, state.TotalChunks);
    }

    [Fact]
    public void Plan_SpikeOnlyOnACluster_DoesNotSetSpikeDetected()
    {
        var state = MergeBatches(0.75, [Of("c1", clusters: [new ChunkCluster("x", "X", ["m"], Spike: true, null, null)])]);

        Assert.False(state.SpikeDetected);
        Assert.True(state.Plain.Single().Spike);
    }

    [Fact]
    public void Plan_MoreThanFiveTopics_KeepsTheFirstFiveSeen()
    {
        var state = MergeBatches(0.75, [Of("c1", topics: ["a", "b", "c"]), Of("c2", topics: ["c", "d", "e", "f", "g"])]);

        Assert.Equal(["a", "b", "c", "d", "e"], state.Topics);
    }

    [Fact]
    public void Plan_CosineExactlyAtThreshold_Merges()
    {
        var state = MergeBatches(0.6, [
            Of("c1", clusters: [new ChunkCluster("first", "First", ["m1", "m2"], Spike: false, Axis, SentimentScore: 0.5)]),
            Of("c2", clusters: [new ChunkCluster("second", "Second", ["m2", "m3"], Spike: true, Slanted, SentimentScore: null)]),
        ]);

        var merged = Assert.Single(state.Clusters);
        Assert.Equal("first", merged.Id);
        Assert.Equal("First", merged.Label);
        Assert.Equal(Axis, merged.Centroid);
        Assert.Equal(3, merged.Mentions);
        Assert.True(merged.Spike);
        Assert.Equal(0.25, merged.SentimentScore); // (0.5 + missing as 0) / 2
    }

    [Fact]
    public void Plan_CosineJustAboveThreshold_Merges()
    {
        var state = MergeBatches(0.5999999, [Of("c1", clusters: [Cluster("a", Axis, "m1")]), Of("c2", clusters: [Cluster("b", Slanted, "m2")])]);

        Assert.Equal(2, Assert.Single(state.Clusters).Mentions);
    }

    [Fact]
    public void Plan_CosineJustBelowThreshold_KeepsTwoClusters()
    {
        var state = MergeBatches(0.6000001, [Of("c1", clusters: [Cluster("a", Axis, "m1")]), Of("c2", clusters: [Cluster("b", Slanted, "m2")])]);

        Assert.Equal(["a", "b"], state.Clusters.Select(c => c.Id));
        Assert.All(state.Clusters, c => Assert.Equal(1, c.Mentions));
    }

    [Fact]
    public void Plan_SeveralMatches_JoinsTheFirstCreated()
    {
        // [1,1] has cosine 0.7071 with both [1,0] and [0,1].
        var state = MergeBatches(0.7, [
            Of("c1", clusters: [Cluster("x", [1, 0], "m1"), Cluster("y", [0, 1], "m2")]),
            Of("c2", clusters: [Cluster("z", [1, 1], "m3")]),
        ]);

        Assert.Equal([2L, 1L], state.Clusters.Select(c => c.Mentions));
    }

    [Fact]
    public void Plan_ClustersOfOneChunk_MergeWithEachOther()
    {
        var state = MergeBatches(0.9, [Of("c1", clusters: [Cluster("x", [1, 0], "m1"), Cluster("x2", [2, 0], "m1", "m2")])]);

        Assert.Equal(2, Assert.Single(state.Clusters).Mentions);
    }

    [Fact]
    public void Plan_CentroidsOfDifferentLengthOrZero_NeverMerge()
    {
        var state = MergeBatches(0, [Of("c1", clusters: [Cluster("x", [1, 0], "m1"), Cluster("y", [1, 0, 0], "m2"), Cluster("z", [0, 0], "m3")])]);

        Assert.Equal(3, state.Clusters.Count);
    }

    [Fact]
    public void Plan_NoOrEmptyCentroid_KeptAsItIs()
    {
        var state = MergeBatches(0, [
            Of("c1", clusters: [Cluster("same", null, "m1", "m1"), Cluster("same", [], "m1")]),
        ]);

        Assert.Empty(state.Clusters);
        Assert.Equal([2L, 1L], state.Plain.Select(c => c.Mentions)); // raw counts, duplicates included, not merged
    }

    [Fact]
    public void Plan_EmptyTopicsAndClusters_CountsTheChunkOnly()
    {
        var state = MergeBatches(0.75, [Of("c1", sentiment: new Sentiment(1, 0, 0, 1))]);

        Assert.Equal(1, state.TotalChunks);
        Assert.Equal(0, state.TotalMentions);
        Assert.Empty(state.Topics);
        Assert.Empty(BrandMerger.Top(state));
    }

    [Fact]
    public void Plan_MentionCount_NumberCountsElseClusterMentions()
    {
        var clusters = new[] { Cluster("x", null, "m1", "m2"), Cluster("y", [1, 0], "m3") };
        var state = MergeBatches(0.75, [
            Of("with-meta", clusters, mentionCount: 7),
            Of("missing-meta", clusters), // meta missing or mentionCount not a number: 2 + 1 cluster mentions
        ]);

        Assert.Equal(10, state.TotalMentions);
    }

    [Fact]
    public void Top_MoreThanFiveClusters_FiveWithMostMentionsTiesByCreation()
    {
        var state = MergeBatches(0.99, [Of("c1", clusters: [
            Cluster("p1", null, "a"),
            Cluster("c1", [1, 0], "a", "b"),
            Cluster("p2", null, "a", "b", "c"),
            Cluster("c2", [0, 1], "a"),
            Cluster("p3", null, "a", "b"),
            Cluster("p4", null, "a"),
            Cluster("p5", null, "a"),
            Cluster("p6", null, "a", "b", "c", "d"),
        ])]);

        Assert.Equal(["p6", "p2", "c1", "p3", "p1"], BrandMerger.Top(state).Select(c => c.Id));
    }

    [Fact]
    public void Complete_SplitIntoBatches_EqualsOneBatch()
    {
        var chunks = Enumerable.Range(0, 40).Select(i => Of(
            "c" + i,
            clusters: [
                Cluster("k" + (i % 3), i % 3 == 0 ? null : [1 + (i % 2), i % 3], "m" + (i % 7), "m" + (i % 5)),
                Cluster("n" + i, null, Enumerable.Range(0, i % 6).Select(j => "x" + j).ToArray()),
            ],
            sentiment: new Sentiment(i, 1, 0.5, i % 3 - 1),
            topics: ["t" + (i % 4), "u" + (i % 9)],
            spike: i == 33,
            summary: "s" + i)).ToList();

        var whole = MergeBatches(0.9, chunks);
        var split = MergeBatches(0.9, chunks.Take(7).ToList(), chunks.Skip(7).Take(1).ToList(), chunks.Skip(8).ToList());

        Assert.Equal(SummaryWriter.Write("b", whole, DateTimeOffset.UnixEpoch), SummaryWriter.Write("b", split, DateTimeOffset.UnixEpoch));
        Assert.Equal(whole.Clusters.Select(c => c.Mentions), split.Clusters.Select(c => c.Mentions));
    }

    [Fact]
    public void Plan_ChunkSummaries_KeepsTheLatest()
    {
        var merger = new BrandMerger(0.75, maxChunkSummaries: 2);
        var state = new BrandState();
        merger.Plan(state, [Of("1", summary: "a"), Of("2", summary: ""), Of("3", summary: "b"), Of("4", summary: "c")]);

        Assert.Equal(["b", "c"], state.ChunkSummaries);
    }
}
