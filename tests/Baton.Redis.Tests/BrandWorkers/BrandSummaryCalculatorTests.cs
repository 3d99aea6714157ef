using System.Text.Json;
using Baton.Simulators.BrandWorkers;

namespace Baton.Redis.Tests.BrandWorkers;

/// <summary>The simulator's own merge rules, against hand-computed expectations.</summary>
public sealed class BrandSummaryCalculatorTests
{
    private static string Chunk(
        string id, object[] clusters, string[]? topics = null, int positive = 1, int neutral = 0, int negative = 0, double score = 0.5,
        bool? spikeDetected = null, string? summary = null, object? meta = null)
    {
        var chunk = new Dictionary<string, object?>
        {
            ["chunkId"] = id, ["brand"] = "nike", ["processedAt"] = "2025-01-01T00:00:00Z",
            ["sentiment"] = new { positive, neutral, negative, score }, ["topics"] = topics ?? [], ["clusters"] = clusters,
        };
        if (spikeDetected is { } spike)
        {
            chunk["spikeDetected"] = spike;
        }

        if (summary is not null)
        {
            chunk["summary"] = summary;
        }

        if (meta is not null)
        {
            chunk["meta"] = meta;
        }

        return JsonSerializer.Serialize(chunk);
    }

    private static object Cluster(string id, string[] mentions, double[]? centroid = null, bool spike = false, double? sentimentScore = null) =>
        centroid is null
            ? new { id, label = id + "-label", mentions, spike, sentimentScore }
            : new { id, label = id + "-label", mentions, spike, centroid, sentimentScore };

    [Theory]
    [InlineData(0.6, 1)]
    [InlineData(0.61, 2)]
    public void Add_CosineExactlyAtThreshold_MergesJustAboveDoesNot(double threshold, int expectedClusters)
    {
        // cos([1,0],[3,4]) = 3/5 = 0.6 exactly.
        var calculator = new BrandSummaryCalculator("nike", threshold);
        calculator.Add(Chunk("c1", [Cluster("a", ["m1", "m2"], [1, 0])]));
        calculator.Add(Chunk("c2", [Cluster("b", ["m2", "m3"], [3, 4], spike: true)]));

        var result = calculator.Result();

        Assert.Equal(expectedClusters, result.Clusters.Count);
        if (expectedClusters == 1)
        {
            Assert.Equal(new ExpectedCluster("a", "a-label", 3, true), result.Clusters[0]);
        }
    }

    [Fact]
    public void Add_MergeJoinsFirstSimilarMergedCluster_KeepsItsIdAndCentroid()
    {
        var calculator = new BrandSummaryCalculator("nike");
        calculator.Add(Chunk("c1", [Cluster("a", ["m1"], [1, 0]), Cluster("b", ["m2"], [0, 1])]));
        // Similar to a (0.8) and to b (0.6 < 0.75): joins a. Then [0.8,0.6] vs a's kept centroid [1,0] is 0.8 again.
        calculator.Add(Chunk("c2", [Cluster("c", ["m3", "m4"], [4, 3]), Cluster("d", ["m5"], [0.8, 0.6])]));

        var clusters = calculator.Result().Clusters;

        Assert.Equal([new ExpectedCluster("a", "a-label", 4, false), new ExpectedCluster("b", "b-label", 1, false)], clusters);
    }

    [Fact]
    public void Add_ClusterWithoutCentroid_KeptAsItIsAndNeverMergedInto()
    {
        var calculator = new BrandSummaryCalculator("nike");
        calculator.Add(Chunk("c1", [Cluster("plain", ["m1", "m2", "m3"]), Cluster("x", ["m1"], [1, 1])]));
        calculator.Add(Chunk("c2", [Cluster("plain2", ["m1", "m2", "m3"]), Cluster("y", ["m9"], [2, 2])]));

        var clusters = calculator.Result().Clusters;

        Assert.Equal(["plain", "plain2", "x"], clusters.Select(c => c.Id));
        Assert.Equal([3, 3, 2], clusters.Select(c => c.Mentions));
    }

    [Fact]
    public void Add_EmptyListsAndMissingMeta_MentionsFromClustersAndNothingElse()
    {
        var calculator = new BrandSummaryCalculator("nike");
        calculator.Add(Chunk("c1", [], topics: []));
        calculator.Add(Chunk("c2", [Cluster("a", ["m1", "m2"])], meta: new { mentionCount = 10 }));
        calculator.Add(Chunk("c3", [Cluster("b", ["m3", "m4", "m5"])]));
        calculator.Add(Chunk("c4", [Cluster("c", ["m6"])], meta: new { other = 1 }));

        var result = calculator.Result();

        Assert.Equal(4, result.TotalChunks);
        Assert.Equal(10 + 3 + 1, result.TotalMentions);
        Assert.Empty(result.DominantTopics);
        Assert.Empty(result.ChunkSummaries);
        Assert.False(result.SpikeDetected);
    }

    [Fact]
    public void Add_SentimentTopicsSpikeSummaries_SummedUnionedOredListed()
    {
        var calculator = new BrandSummaryCalculator("nike");
        calculator.Add(Chunk("c1", [], ["a", "b", "c"], 5, 2, 1, 4, spikeDetected: false, summary: "one"));
        calculator.Add(Chunk("c2", [], ["c", "d", "e", "f", "g"], 1, 1, 1, -0.5, spikeDetected: true));
        calculator.Add(Chunk("c3", [], ["a", "h"], 0, 3, 0, 0.25, summary: "three"));

        var result = calculator.Result();

        Assert.Equal((6, 6, 2, 3.75), (result.Positive, result.Neutral, result.Negative, result.Score));
        Assert.Equal(["a", "b", "c", "d", "e"], result.DominantTopics);
        Assert.True(result.SpikeDetected);
        Assert.Equal(["one", "three"], result.ChunkSummaries);
    }

    [Fact]
    public void Add_SameChunkIdTwiceOrInvalid_CountedOnce()
    {
        var calculator = new BrandSummaryCalculator("nike");
        var chunk = Chunk("c1", [Cluster("a", ["m1"])], meta: new { mentionCount = 3 });

        Assert.True(calculator.Add(chunk));
        Assert.False(calculator.Add(chunk));
        Assert.False(calculator.Add("{not json"));
        Assert.False(calculator.Add("""{"chunkId":"c9","brand":"nike","processedAt":"x","sentiment":{"positive":"5","neutral":0,"negative":0,"score":1},"topics":[],"clusters":[]}"""));

        Assert.Equal((1, 3d), (calculator.Result().TotalChunks, calculator.Result().TotalMentions));
    }

    [Fact]
    public void Result_TopFiveByMentions_TiesKeepMergeOrder()
    {
        var calculator = new BrandSummaryCalculator("nike");
        calculator.Add(Chunk("c1", [.. new[] { 1, 3, 2, 3, 1, 2, 5 }.Select((n, i) => Cluster($"k{i}", [.. Enumerable.Range(0, n).Select(m => $"k{i}-m{m}")]))]));

        Assert.Equal(["k6", "k1", "k3", "k2", "k5"], calculator.Result().Clusters.Select(c => c.Id));
    }

    [Fact]
    public void Comparer_StoredSummary_MatchesOrNamesFirstDifference()
    {
        var calculator = new BrandSummaryCalculator("nike");
        calculator.Add(Chunk("c1", [Cluster("a", ["m1", "m2"], [1, 0])], ["launch"], summary: "s"));
        var expected = calculator.Result();
        var json = expected.ToSummaryJson(DateTimeOffset.UnixEpoch);

        Assert.Null(BrandSummaryComparer.FirstDifference(expected, json));
        Assert.Equal("clusters[0].mentions: expected 2, actual 3", BrandSummaryComparer.FirstDifference(expected, json.Replace("\"mentions\":2", "\"mentions\":3", StringComparison.Ordinal)));
        Assert.StartsWith("totalChunks: expected 1", BrandSummaryComparer.FirstDifference(expected, json.Replace("\"totalChunks\":1", "\"totalChunks\":2", StringComparison.Ordinal)), StringComparison.Ordinal);
    }
}
