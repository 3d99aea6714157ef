using System.Text.Json;
using Baton.Redis;
using StackExchange.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.BrandInsights.Demo;

/// <summary>
/// The Development demo: when a Redis answers on <c>REDIS_URL</c>, adds three demo brands to <c>brands:list</c> and
/// pushes seed-shaped chunk results for them (two per brand per second, <see cref="ChunksPerBrand"/> each, some
/// clusters close enough to merge, an occasional bad payload and repeated chunk id), so summaries are seen being
/// built in <c>summary:brand:demo-*</c>. Without Redis it logs how to start one and does nothing; the server runs on.
/// </summary>
internal sealed class BrandDemo(IRedisConnection redis, TimeProvider time, ILogger<BrandDemo> logger) : BackgroundService
{
    public const int ChunksPerBrand = 120;

    private static readonly string[] Brands = ["demo-nike", "demo-adidas", "demo-puma"];
    private static readonly string[] Topics = ["launch", "pricing", "delivery", "support", "quality", "campaign", "returns"];
    private static readonly double[][] Centroids = [[1, 0, 0], [0.95, 0.2, 0], [0, 1, 0], [0, 0.1, 1]];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await redis.Database.PingAsync().WaitAsync(TimeSpan.FromSeconds(5), stoppingToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.DemoNoRedis(logger);
            return;
        }

        try
        {
            await FeedAsync(redis.Database, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Before, the exception left this background service, which stops the whole server: a Redis restart while the
            // demo fed, or a brands:list kept as a list (which SADD refuses), ended the server with it.
            Log.DemoStopped(logger, ex.Message);
        }
    }

    private async Task FeedAsync(IDatabase db, CancellationToken stoppingToken)
    {
        // brands:list may be a set or a list (as the app reads it): the demo brands join it as it is.
        if (await db.KeyTypeAsync(BrandKeys.BrandsList) == RedisType.List)
        {
            var listed = (await db.ListRangeAsync(BrandKeys.BrandsList)).Select(v => (string?)v).ToHashSet(StringComparer.Ordinal);
            if (Brands.Where(b => !listed.Contains(b)).Select(b => (RedisValue)b).ToArray() is { Length: > 0 } missing)
            {
                await db.ListRightPushAsync(BrandKeys.BrandsList, missing);
            }
        }
        else
        {
            await db.SetAddAsync(BrandKeys.BrandsList, [.. Brands.Select(b => (RedisValue)b)]);
        }

        Log.DemoStarted(logger, Brands.Length, ChunksPerBrand);
        var random = new Random(1);
        for (var n = 1; n <= ChunksPerBrand && !stoppingToken.IsCancellationRequested; n++)
        {
            foreach (var brand in Brands)
            {
                var payload = n % 40 == 0 ? "{ not json" : Chunk(brand, n % 25 == 0 ? n - 1 : n, random);
                await db.ListRightPushAsync(BrandKeys.Chunks(brand), payload);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), time, stoppingToken);
        }
    }

    private static string Chunk(string brand, int n, Random random)
    {
        var clusters = Enumerable.Range(0, 1 + random.Next(3)).Select(c => new
        {
            id = $"{brand}-{n}-{c}",
            label = Topics[random.Next(Topics.Length)] + " buzz",
            mentions = Enumerable.Range(0, 1 + random.Next(4)).Select(_ => "m" + random.Next(200)).ToArray(),
            spike = random.Next(10) == 0,
            centroid = random.Next(5) == 0 ? null : Centroids[random.Next(Centroids.Length)],
            sentimentScore = Math.Round(random.NextDouble() * 2 - 1, 2),
        }).ToArray();
        return JsonSerializer.Serialize(new
        {
            chunkId = $"{brand}-{n}",
            brand,
            processedAt = DateTimeOffset.UnixEpoch.AddSeconds(1_735_689_600 + n).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            sentiment = new { positive = random.Next(10), neutral = random.Next(5), negative = random.Next(4), score = random.Next(-5, 10) },
            topics = new[] { Topics[random.Next(Topics.Length)], Topics[random.Next(Topics.Length)] },
            clusters,
            spikeDetected = clusters.Any(c => c.spike),
            summary = $"chunk {n} of {brand}",
            meta = new { mentionCount = clusters.Sum(c => c.mentions.Length) },
        });
    }
}
