using System.Text.Json;
using Baton.Apps.BrandInsights.Tests.Infrastructure;
using Baton.Apps.BrandInsights.Tests.Merging;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>
/// Bad input through the real server: every bad chunk lands raw on <c>failed:brand:&lt;brand&gt;</c> with its reason in
/// the log and the good ones are merged; a missing, empty or wrongly typed <c>brands:list</c> is one clear log line.
/// </summary>
public sealed class BadInputTests : PrivateRedisTests
{
    private const string Brand = "acme: west coast";

    [Fact]
    public async Task BrandsList_MissingThenWrongTypes_OneClearLogLineEachAndNoBrands()
    {
        var db = Db;
        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-bad"));
        await server.Process.WaitForLineAsync(l => l.Contains("brands:list is empty or missing", StringComparison.Ordinal), "the empty brands:list line");
        Assert.Equal(0, (await server.HealthAsync()).Body.GetProperty("brands").GetArrayLength());

        await db.StringSetAsync(BrandKeys.BrandsList, "nike");
        await server.Process.WaitForLineAsync(l => l.Contains("brands:list is a Redis string, not a set or a list", StringComparison.Ordinal), "the string brands:list line");
        await db.KeyDeleteAsync(BrandKeys.BrandsList);
        await db.HashSetAsync(BrandKeys.BrandsList, "nike", "1");
        await server.Process.WaitForLineAsync(l => l.Contains("brands:list is a Redis hash, not a set or a list", StringComparison.Ordinal), "the hash brands:list line");
        await db.ListRightPushAsync(BrandKeys.Chunks("nike"), ChunkParserTests.SeedExample);
        var (status, health) = await server.HealthAsync();

        Assert.Equal(200, status);
        Assert.Equal(0, health.GetProperty("brands").GetArrayLength());
        Assert.False(await db.KeyExistsAsync(BrandKeys.Summary("nike")));
        Assert.Equal(1, server.Process.Output.Split('\n').Count(l => l.Contains("Redis hash, not a set", StringComparison.Ordinal))); // once, not every refresh
    }

    [Fact]
    public async Task Chunks_OneHoldsHalfASurrogatePair_OnlyItDeadLetteredRawTheOthersMerged()
    {
        // What a Node worker writes for text cut in the middle of an emoji: JSON.stringify gives the escape "\ud800". Before:
        // the parser's InvalidOperationException failed the mapper and sent the whole batch to the failed list, uncounted.
        var db = Db;
        await db.SetAddAsync(BrandKeys.BrandsList, "nike");
        var first = ChunkParserTests.SeedExample;
        var cut = ChunkParserTests.SeedExample.Replace("nike-1", "nike-cut", StringComparison.Ordinal).Replace("\"processedAt\"", "\"summary\":\"a\\ud800b\",\"processedAt\"", StringComparison.Ordinal);
        var third = ChunkParserTests.SeedExample.Replace("nike-1", "nike-3", StringComparison.Ordinal);
        Assert.Contains("\\ud800", cut, StringComparison.Ordinal);
        await db.ListRightPushAsync(BrandKeys.Chunks("nike"), [first, cut, third]);

        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-cut"));
        await BrandServer.WaitForSummaryAsync(db, "nike", s => s.GetProperty("totalChunks").GetInt32() == 2);
        var failed = await Poll.UntilAsync(() => db.ListRangeAsync(BrandKeys.Failed("nike")), f => f.Length == 1, "the one dead-lettered chunk");

        Assert.Equal(cut, (string)failed[0]!);
        await server.WaitForMetricAsync("orchestrator_chunks_failed_total{brand=\"nike\"} 1\n");
    }

    [Fact]
    public async Task Chunks_OneThatIsNotUtf8_DeadLetteredWithItsOwnBytes()
    {
        // Before: the item was read as text, its bytes replaced with U+FFFD, and that text was pushed to the failed list.
        var db = Db;
        await db.SetAddAsync(BrandKeys.BrandsList, "nike");
        byte[] notUtf8 = [0xFF, 0xFE, .. " not json"u8];
        await db.ListRightPushAsync(BrandKeys.Chunks("nike"), [(RedisValue)ChunkParserTests.SeedExample, (RedisValue)notUtf8]);

        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-bytes"));
        await BrandServer.WaitForSummaryAsync(db, "nike", s => s.GetProperty("totalChunks").GetInt32() == 1);
        var failed = await Poll.UntilAsync(() => db.ListRangeAsync(BrandKeys.Failed("nike")), f => f.Length == 1, "the one dead-lettered chunk");

        Assert.Equal(notUtf8, (byte[])failed[0]!);
    }

    [Fact]
    public async Task Chunks_BadOnesAmongBatchesOfferedAgain_FailedMetricEqualsTheFailedList()
    {
        // A batch is offered again while the brand's previous run still merges (every 20 ms), and was counted at every
        // offer: a reviewer saw 144 for 80 chunks on the failed list, with no fault at all.
        var db = Db;
        await db.SetAddAsync(BrandKeys.BrandsList, "count");
        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-count"));
        await Poll.UntilAsync(async () => (await server.HealthAsync()).Body, h => h.GetProperty("brands").GetArrayLength() == 1, "the brand read");

        for (var group = 0; group < 10; group++)
        {
            var chunks = Enumerable.Range(group * 100, 100).Select(i => i % 50 == 7
                ? "{\"chunkId\":\"bad-" + i + "\"}"
                : ChunkParserTests.SeedExample.Replace("nike-1", $"count-{i}", StringComparison.Ordinal).Replace("\"nike\"", "\"count\"", StringComparison.Ordinal));
            await db.ListRightPushAsync(BrandKeys.Chunks("count"), [.. chunks.Select(c => (RedisValue)c)]);
        }

        await BrandServer.WaitForSummaryAsync(db, "count", s => s.GetProperty("totalChunks").GetInt32() == 980, TimeSpan.FromSeconds(90));
        var failed = await Poll.UntilAsync(() => db.ListLengthAsync(BrandKeys.Failed("count")), n => n == 20, "20 chunks on the failed list");
        await server.WaitForMetricAsync("orchestrator_chunks_failed_total{brand=\"count\"} 20\n");
        // Counted once each: the count stays at 20 after the list has all 20 (before: 144 for 80 chunks).
        var metrics = await server.MetricsAsync();

        Assert.Equal(20, failed);
        Assert.Contains("orchestrator_chunks_failed_total{brand=\"count\"} 20\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunks_OfABrandWhoseNameCannotBeARunKey_DeadLetteredRawWithTheReasonAndCounted()
    {
        // Before: the inbox refused each run (the brand is its concurrency key, at most 500 characters) and the failed
        // list got the run's input wrapping the whole batch, not the chunks; the failed metric stayed at 0.
        var db = Db;
        var brand = new string('b', 600);
        await db.SetAddAsync(BrandKeys.BrandsList, brand);
        var chunk = ChunkParserTests.SeedExample.Replace("\"brand\":\"nike\"", $"\"brand\":\"{brand}\"", StringComparison.Ordinal);
        await db.ListRightPushAsync(BrandKeys.Chunks(brand), chunk);

        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-long"));
        var failed = await Poll.UntilAsync(() => db.ListRangeAsync(BrandKeys.Failed(brand)), f => f.Length == 1, "the chunk on the failed list");

        Assert.Equal(chunk, (string)failed[0]!);
        await server.Process.WaitForLineAsync(l => l.Contains("the brand name has 600 characters", StringComparison.Ordinal), "the reason in the log");
        await server.WaitForMetricAsync("orchestrator_chunks_failed_total{brand=\"" + brand + "\"} 1\n");
    }

    [Fact]
    public async Task DeadLetter_AckReplyLost_LoggedAndCountedInTheFailedMetric()
    {
        // Before: Redis carried out the acknowledgement that pushes the dead letters, but its reply was lost (the connection
        // closed under it); the next take found the processing list empty, and those dead letters were never logged nor
        // counted: orchestrator_chunks_failed_total said 1 with 2 chunks on the failed list.
        var db = Db;
        const string brand = "lost-ack";
        await using var proxy = new ReplyLosingRedisProxy(Redis.Port);
        await db.SetAddAsync(BrandKeys.BrandsList, brand);
        var first = $"not JSON, its ack reply lost {Guid.NewGuid():N}";
        proxy.LoseRepliesAfter(first);
        await using var server = await BrandServer.StartAsync(BrandServer.Environment(proxy.Url, BrandServer.NewDirectory(), "orchestrator-lost-ack"));

        await db.ListRightPushAsync(BrandKeys.Chunks(brand), first);
        await proxy.Triggered.WaitAsync(TimeSpan.FromSeconds(60));
        await Poll.UntilAsync(() => db.ListLengthAsync(BrandKeys.Failed(brand)), n => n == 1, "the acknowledgement carried out");
        proxy.Cut();
        await db.ListRightPushAsync(BrandKeys.Chunks(brand), "{\"chunkId\":");
        await Poll.UntilAsync(() => db.ListLengthAsync(BrandKeys.Failed(brand)), n => n == 2, "the second dead letter");

        await server.WaitForMetricAsync($"orchestrator_chunks_failed_total{{brand=\"{brand}\"}} 2\n");
        Assert.Equal(2, server.LogMessages().Count(m => m.Contains($"dead-lettered to failed:brand:{brand}: not JSON", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Chunks_MalformedWrongTypesHugeAndGood_BadOnesDeadLetteredRawGoodMerged()
    {
        var db = Db;
        await db.ListRightPushAsync(BrandKeys.BrandsList, [Brand, "nike"]); // a list, not a set: both are accepted
        var good = ChunkParserTests.SeedExample.Replace("\"brand\":\"nike\"", $"\"brand\":\"{Brand}\"", StringComparison.Ordinal);
        var malformed = "{\"chunkId\":\"x\",";
        var wrongTypes = good.Replace("\"positive\":5", "\"positive\":\"five\"", StringComparison.Ordinal).Replace("nike-1", "wrong-1", StringComparison.Ordinal);
        var huge = good.Replace("\"launch\"]", "\"" + new string('x', 10 * 1024 * 1024) + "\"]", StringComparison.Ordinal);
        var otherBrand = ChunkParserTests.SeedExample.Replace("nike-1", "other-1", StringComparison.Ordinal);
        await db.ListRightPushAsync(BrandKeys.Chunks(Brand), [malformed, wrongTypes, huge, good, otherBrand]);
        await db.ListRightPushAsync(BrandKeys.Chunks("nike"), ChunkParserTests.SeedExample);

        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-bad"));
        var summary = await BrandServer.WaitForSummaryAsync(db, Brand, s => s.GetProperty("totalChunks").GetInt32() == 1);
        await BrandServer.WaitForSummaryAsync(db, "nike", s => s.GetProperty("totalChunks").GetInt32() == 1);
        var failed = await Poll.UntilAsync(() => db.ListRangeAsync(BrandKeys.Failed(Brand)), f => f.Length == 4, "four dead-lettered chunks");

        Assert.Equal(Brand, summary.GetProperty("brand").GetString());
        // All four, raw (their order on the list is not part of the contract).
        Assert.Equal(new[] { malformed, wrongTypes, huge, otherBrand }.Order(StringComparer.Ordinal), failed.Select(v => (string)v!).Order(StringComparer.Ordinal));
        Assert.False(await db.KeyExistsAsync(BrandKeys.Failed("nike")));
        Assert.Equal(0, await db.ListLengthAsync(BrandKeys.Chunks(Brand)));
        // Each reason is logged just after its dead letter is in Redis, and reaches the test through the process's output.
        var output = await Poll.UntilAsync(
            () => Task.FromResult(string.Join('\n', server.LogMessages())),
            o => o.Contains("over the 1048576-byte limit", StringComparison.Ordinal) && o.Split("dead-lettered to").Length - 1 >= 4,
            "the four dead letters logged");
        Assert.Contains($"item of result:brand:{Brand}:chunks dead-lettered to failed:brand:{Brand}: not JSON", output, StringComparison.Ordinal);
        Assert.Contains("sentiment.positive is a JSON string, not a number", output, StringComparison.Ordinal);
        Assert.Contains("over the 1048576-byte limit", output, StringComparison.Ordinal);
        Assert.Contains("brand is not the list's brand", output, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('x', 1000), server.Process.Output, StringComparison.Ordinal); // reasons, never the payload
        await server.WaitForMetricAsync($"orchestrator_chunks_failed_total{{brand=\"{Brand}\"}} 4\n");
        using var runs = JsonDocument.Parse(await server.ApiClient().GetStringAsync("/api/runs?workflow=brand-merge"));
        Assert.NotEmpty(runs.RootElement.GetProperty("runs").EnumerateArray());
    }
}
