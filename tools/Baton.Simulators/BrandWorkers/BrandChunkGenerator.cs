using System.Globalization;
using System.Text.Json.Nodes;

namespace Baton.Simulators.BrandWorkers;

/// <summary>What a push is: a valid chunk, a bad payload, or a valid chunk pushed again (same chunk id, same text).</summary>
public enum ChunkKind
{
    Valid,
    Bad,
    Duplicate,
}

/// <summary>One <c>RPUSH result:brand:{Brand}:chunks {Payload}</c> of the simulated workers.</summary>
public sealed record ChunkPush(string Brand, string ChunkId, string Payload, ChunkKind Kind);

/// <summary>Settings of <see cref="BrandChunkGenerator"/>.</summary>
public sealed record BrandChunkSettings
{
    /// <summary>Brands: <c>{BrandPrefix}{index:000}</c>. The default is 5.</summary>
    public int Brands { get; init; } = 5;

    /// <summary>Chunks generated in all (valid plus bad), dealt to the brands in turn; duplicates come on top. The default is 1,000.</summary>
    public int Chunks { get; init; } = 1000;

    /// <summary>Fraction of generated chunks that are bad payloads (non-JSON, a required field missing, a wrong type). The default is 0.</summary>
    public double Bad { get; init; }

    /// <summary>Fraction of valid chunks pushed a second time (after the brand's next chunk). The default is 0.</summary>
    public double Duplicates { get; init; }

    /// <summary>The seed: the same settings give the same pushes, byte for byte. The default is 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>The default is <c>brand-</c>.</summary>
    public string BrandPrefix { get; init; } = "brand-";
}

/// <summary>
/// Deterministic seed-001-shaped chunk results. Each brand has five centroid directions (8 dimensions); most clusters
/// sit close to one of them (so they merge at the 0.75 cosine threshold), some are pushed far off it (so some merge and
/// some do not), some have no centroid; some chunks have no <c>meta</c>, no <c>summary</c> or no <c>spikeDetected</c>.
/// Mentions come from a bounded pool per direction, so merged clusters overlap and stay bounded. Chunks are generated
/// lazily (nothing is held in memory), chunk <c>i</c> going to brand <c>i mod Brands</c>.
/// </summary>
public sealed class BrandChunkGenerator(BrandChunkSettings settings)
{
    private const int Dimensions = 8;
    private const int Directions = 5;
    private static readonly string[] TopicPool =
        ["launch", "pricing", "support", "quality", "shipping", "ads", "sustainability", "design", "returns", "app", "stores", "sponsorship"];

    public BrandChunkSettings Settings => settings;

    public IReadOnlyList<string> BrandNames { get; } =
        [.. Enumerable.Range(0, settings.Brands).Select(i => settings.BrandPrefix + i.ToString("000", CultureInfo.InvariantCulture))];

    /// <summary>Every push in order: generated chunks dealt to the brands in turn, a duplicate right after its brand's next chunk.</summary>
    public IEnumerable<ChunkPush> Pushes()
    {
        var pendingDuplicate = new ChunkPush?[settings.Brands];
        for (var i = 0; i < settings.Chunks; i++)
        {
            var b = i % settings.Brands;
            var push = Generate(b, i / settings.Brands);
            yield return push;
            if (pendingDuplicate[b] is { } duplicate)
            {
                yield return duplicate;
                pendingDuplicate[b] = null;
            }

            if (push.Kind == ChunkKind.Valid && Draw(b, i / settings.Brands, 1) < settings.Duplicates)
            {
                pendingDuplicate[b] = push with { Kind = ChunkKind.Duplicate };
            }
        }

        foreach (var duplicate in pendingDuplicate)
        {
            if (duplicate is not null)
            {
                yield return duplicate;
            }
        }
    }

    /// <summary>Chunk <paramref name="index"/> of brand <paramref name="brandIndex"/> (deterministic from the seed).</summary>
    public ChunkPush Generate(int brandIndex, int index)
    {
        var brand = BrandNames[brandIndex];
        var chunkId = $"{brand}-{index}";
        var random = new Random(HashCode(settings.Seed, brandIndex, index, 0));
        if (Draw(brandIndex, index, 2) < settings.Bad)
        {
            return new ChunkPush(brand, chunkId, BadPayload(random, brand, chunkId), ChunkKind.Bad);
        }

        return new ChunkPush(brand, chunkId, ValidChunk(random, brandIndex, brand, chunkId, index).ToJsonString(), ChunkKind.Valid);
    }

    private JsonObject ValidChunk(Random random, int brandIndex, string brand, string chunkId, int index)
    {
        var positive = random.Next(0, 20);
        var neutral = random.Next(0, 20);
        var negative = random.Next(0, 20);
        var topics = new JsonArray();
        foreach (var topic in TopicPool.OrderBy(_ => random.Next()).Take(random.Next(1, 4)))
        {
            topics.Add(topic);
        }

        var clusters = new JsonArray();
        var mentionTotal = 0;
        var clusterCount = random.Next(1, 4);
        var anySpike = false;
        for (var c = 0; c < clusterCount; c++)
        {
            var direction = random.Next(Directions);
            var mentions = new JsonArray();
            foreach (var m in Enumerable.Range(0, 40).OrderBy(_ => random.Next()).Take(random.Next(1, 5)))
            {
                mentions.Add($"{brand}-d{direction}-m{m}");
            }

            mentionTotal += mentions.Count;
            var spike = random.NextDouble() < 0.1;
            anySpike |= spike;
            var cluster = new JsonObject
            {
                ["id"] = $"{chunkId}-c{c}",
                ["label"] = $"{TopicPool[direction]} cluster",
                ["mentions"] = mentions,
                ["spike"] = spike,
            };
            var shape = random.NextDouble();
            if (shape >= 0.1)
            {
                // 0.1..0.85: near its direction (merges); above: pushed far off it (may or may not merge).
                cluster["centroid"] = Centroid(brandIndex, direction, random, shape < 0.85 ? 0.15 : 1.2);
            }

            if (random.NextDouble() < 0.8)
            {
                cluster["sentimentScore"] = Math.Round((random.NextDouble() * 2) - 1, 2);
            }

            clusters.Add(cluster);
        }

        var chunk = new JsonObject
        {
            ["chunkId"] = chunkId,
            ["brand"] = brand,
            ["processedAt"] = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(index).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["sentiment"] = new JsonObject
            {
                ["positive"] = positive,
                ["neutral"] = neutral,
                ["negative"] = negative,
                ["score"] = Math.Round((positive - negative) / (double)Math.Max(1, positive + neutral + negative), 2),
            },
            ["topics"] = topics,
            ["clusters"] = clusters,
        };
        if (random.NextDouble() < 0.7)
        {
            chunk["spikeDetected"] = anySpike || random.NextDouble() < 0.02;
        }

        if (random.NextDouble() < 0.6)
        {
            chunk["summary"] = $"{brand} chunk {index}: {topics[0]} discussed";
        }

        if (random.NextDouble() < 0.85)
        {
            chunk["meta"] = new JsonObject { ["mentionCount"] = mentionTotal + random.Next(0, 4) };
        }

        return chunk;
    }

    private JsonArray Centroid(int brandIndex, int direction, Random random, double noise)
    {
        var basis = new Random(HashCode(settings.Seed, brandIndex, direction, 7));
        var vector = new JsonArray();
        for (var d = 0; d < Dimensions; d++)
        {
            var value = Gaussian(basis) + (noise * Gaussian(random));
            vector.Add(Math.Round(value, 4));
        }

        return vector;
    }

    private static string BadPayload(Random random, string brand, string chunkId) => random.Next(6) switch
    {
        0 => $$"""{"chunkId":"{{chunkId}}","brand":"{{brand}}","sentiment":{"positive":1""",
        1 => $$"""{"brand":"{{brand}}","processedAt":"2025-01-01T00:00:00Z","sentiment":{"positive":1,"neutral":0,"negative":0,"score":1},"topics":[],"clusters":[]}""",
        2 => $$"""{"chunkId":"{{chunkId}}","brand":"{{brand}}","processedAt":"2025-01-01T00:00:00Z","topics":["x"],"clusters":[]}""",
        3 => $$"""{"chunkId":"{{chunkId}}","brand":"{{brand}}","processedAt":"2025-01-01T00:00:00Z","sentiment":{"positive":"5","neutral":0,"negative":0,"score":1},"topics":[],"clusters":[]}""",
        4 => $$"""{"chunkId":"{{chunkId}}","brand":"{{brand}}","processedAt":"2025-01-01T00:00:00Z","sentiment":{"positive":1,"neutral":0,"negative":0,"score":1},"topics":"launch","clusters":[]}""",
        _ => $$$"""{"chunkId":"{{{chunkId}}}","brand":"{{{brand}}}","processedAt":"2025-01-01T00:00:00Z","sentiment":{"positive":1,"neutral":0,"negative":0,"score":1},"topics":[],"clusters":{"id":"x"}}""",
    };

    private double Draw(int brandIndex, int index, int purpose) => new Random(HashCode(settings.Seed, brandIndex, index, purpose)).NextDouble();

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>A stable mix of the inputs (System.HashCode is randomised per process, so it cannot seed across runs).</summary>
    private static int HashCode(int a, int b, int c, int d)
    {
        unchecked
        {
            var h = 17L;
            foreach (var x in new[] { a, b, c, d })
            {
                h = (h * 1_000_003) ^ x;
                h ^= h >> 29;
            }

            return (int)(h ^ (h >> 32));
        }
    }
}
