using Baton.Simulators.BrandWorkers;
using Baton.Testing;
using StackExchange.Redis;

namespace Baton.Redis.Tests.BrandWorkers;

/// <summary>The brand-workers simulator: deterministic chunks of every shape, pushes, and --verify, on a private Redis (it writes brands:list).</summary>
public sealed class BrandWorkersSimulatorTests
{
    private static readonly BrandChunkSettings Settings = new() { Brands = 4, Chunks = 800, Bad = 0.05, Duplicates = 0.1, Seed = 7 };

    [Fact]
    public void Pushes_SameSettings_SameBytesOtherSeedDiffers()
    {
        var first = new BrandChunkGenerator(Settings).Pushes().ToList();
        var again = new BrandChunkGenerator(Settings).Pushes().ToList();
        var other = new BrandChunkGenerator(Settings with { Seed = 8 }).Pushes().ToList();

        Assert.Equal(first, again);
        Assert.NotEqual(first.Select(p => p.Payload), other.Select(p => p.Payload));
    }

    [Fact]
    public void Pushes_Fractions_BadInvalidDuplicatesRepeatAValidChunkAndEveryShapeOccurs()
    {
        var pushes = new BrandChunkGenerator(Settings).Pushes().ToList();
        var valid = pushes.Where(p => p.Kind == ChunkKind.Valid).ToList();
        var bad = pushes.Where(p => p.Kind == ChunkKind.Bad).ToList();
        var duplicates = pushes.Where(p => p.Kind == ChunkKind.Duplicate).ToList();

        Assert.Equal(800, valid.Count + bad.Count);
        Assert.InRange(bad.Count, 20, 60);
        Assert.InRange(duplicates.Count, 40, 120);
        Assert.All(valid, p => Assert.True(BrandSummaryCalculator.IsValid(System.Text.Json.JsonDocument.Parse(p.Payload).RootElement)));
        Assert.All(bad, p => Assert.False(new BrandSummaryCalculator(p.Brand).Add(p.Payload)));
        Assert.All(duplicates, d => Assert.Contains(valid, v => v.Payload == d.Payload));
        Assert.Contains(valid, p => !p.Payload.Contains("\"meta\"", StringComparison.Ordinal));
        Assert.Contains(valid, p => p.Payload.Contains("\"meta\"", StringComparison.Ordinal));
        Assert.Contains(valid, p => p.Payload.Contains("\"spike\":false}", StringComparison.Ordinal) || p.Payload.Contains("\"spike\":true}", StringComparison.Ordinal));
        Assert.Contains(bad, p => !p.Payload.EndsWith('}'));
    }

    [Fact]
    public void Expected_GeneratedCentroids_SomeClustersMergeAndSomeDoNot()
    {
        var generator = new BrandChunkGenerator(Settings);
        var expected = BrandWorkersSimulator.Expected(generator);

        foreach (var summary in expected.Values)
        {
            Assert.Equal(5, summary.Clusters.Count);
            // Merged clusters gather mentions of many chunks (a single chunk's cluster has at most 4).
            Assert.True(summary.Clusters[0].Mentions > 4, $"{summary.Brand}: the largest cluster has {summary.Clusters[0].Mentions} mentions");
        }

        var perBrand = generator.Pushes().Where(p => p.Kind == ChunkKind.Valid).GroupBy(p => p.Brand).First();
        var withCentroid = perBrand.Sum(p => System.Text.Json.JsonDocument.Parse(p.Payload).RootElement.GetProperty("clusters").EnumerateArray().Count(c => c.TryGetProperty("centroid", out _)));
        var merged = MergedCentroidClusters(perBrand.Select(p => p.Payload));
        Assert.InRange(merged, 6, withCentroid / 2);
    }

    [Fact]
    public async Task RunAsync_PushThenVerify_BrandsListedChunksPushedAndSummariesCompared()
    {
        await using var redis = await PrivateRedis.StartAsync();
        var timestamps = Path.Combine(TestPaths.NewTempDirectory(), "ts.tsv");
        string[] common = ["--redis", redis.Url, "--brands", "4", "--chunks", "800", "--bad", "0.05", "--duplicates", "0.1", "--seed", "7"];

        Assert.Equal(0, await BrandWorkersSimulator.RunAsync([.. common, "--list", "--timestamps", timestamps]));

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var db = connection.GetDatabase();
        var pushes = new BrandChunkGenerator(Settings).Pushes().ToList();
        Assert.Equal(RedisType.List, await db.KeyTypeAsync(BrandWorkersSimulator.BrandsKey));
        Assert.Equal(["brand-000", "brand-001", "brand-002", "brand-003"], (await db.ListRangeAsync(BrandWorkersSimulator.BrandsKey)).Select(v => (string)v!));
        Assert.Equal(
            pushes.Where(p => p.Brand == "brand-001").Select(p => p.Payload),
            (await db.ListRangeAsync(BrandWorkersSimulator.ChunksKey("brand-001"))).Select(v => (string)v!));
        Assert.Equal(pushes.Count, File.ReadAllLines(timestamps).Length);

        var expected = BrandWorkersSimulator.Expected(new BrandChunkGenerator(Settings));
        Assert.Equal(1, await BrandWorkersSimulator.RunAsync([.. common, "--verify"]));
        foreach (var (brand, summary) in expected)
        {
            await db.StringSetAsync(BrandWorkersSimulator.SummaryKey(brand), summary.ToSummaryJson(DateTimeOffset.UtcNow));
        }

        Assert.Equal(0, await BrandWorkersSimulator.RunAsync([.. common, "--verify"]));
        Assert.Equal(1, await BrandWorkersSimulator.RunAsync([.. common, "--verify", "--max-chunk-summaries", "3"]));
        foreach (var (brand, summary) in expected)
        {
            var latest = summary with { ChunkSummaries = [.. summary.ChunkSummaries.TakeLast(3)] };
            await db.StringSetAsync(BrandWorkersSimulator.SummaryKey(brand), latest.ToSummaryJson(DateTimeOffset.UtcNow));
        }

        Assert.Equal(0, await BrandWorkersSimulator.RunAsync([.. common, "--verify", "--max-chunk-summaries", "3"]));
        Directory.Delete(Path.GetDirectoryName(timestamps)!, recursive: true);
    }

    private static int MergedCentroidClusters(IEnumerable<string> payloads)
    {
        var centroids = new List<double[]>();
        foreach (var payload in payloads)
        {
            foreach (var cluster in System.Text.Json.JsonDocument.Parse(payload).RootElement.GetProperty("clusters").EnumerateArray())
            {
                if (cluster.TryGetProperty("centroid", out var c))
                {
                    var vector = c.EnumerateArray().Select(v => v.GetDouble()).ToArray();
                    if (!centroids.Any(m => BrandSummaryCalculator.Cosine(m, vector) >= 0.75))
                    {
                        centroids.Add(vector);
                    }
                }
            }
        }

        return centroids.Count;
    }
}
