using System.Text.Json;
using Baton.Apps.BrandInsights.Metrics;
using Baton.Apps.BrandInsights.State;
using Baton.Apps.BrandInsights.Tests.Infrastructure;
using Baton.Apps.BrandInsights.Tests.Merging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Apps.BrandInsights.Tests.State;

/// <summary>The state writer against the real Redis: one summary write per batch, each chunk id merged once.</summary>
public sealed class BrandStateStoreTests : IAsyncLifetime
{
    private readonly string _brand = BrandRedis.NewBrand();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => BrandRedis.DeleteBrandAsync(_brand);

    [Fact]
    public async Task MergeAsync_SeedExample_WritesTheSummary()
    {
        var outcome = await NewStore().MergeAsync(_brand, [Chunk("nike-1")], null, CancellationToken.None);

        Assert.Equal(new MergeOutcome(1, 0, 0, 1, 3, 0), outcome);
        using var summary = await ReadSummaryAsync();
        Assert.Equal(_brand, summary.RootElement.GetProperty("brand").GetString());
        Assert.Equal(1, summary.RootElement.GetProperty("totalChunks").GetInt32());
        Assert.Equal("2025-01-01T00:00:00.000Z", summary.RootElement.GetProperty("generatedAt").GetString());
        Assert.Null(await BrandRedis.Database.KeyTimeToLiveAsync(BrandKeys.Summary(_brand))); // no TTL by default
    }

    [Fact]
    public async Task MergeAsync_SameBatchTwice_MergesOnce()
    {
        var store = NewStore();
        await store.MergeAsync(_brand, [Chunk("a"), Chunk("b")], null, CancellationToken.None);
        var first = await BrandRedis.Database.StringGetAsync(BrandKeys.Summary(_brand));
        _time.Advance(TimeSpan.FromSeconds(5));

        var again = await store.MergeAsync(_brand, [Chunk("a"), Chunk("b")], null, CancellationToken.None);

        Assert.Equal(new MergeOutcome(0, 2, 0, 2, 6, 0), again);
        Assert.Equal(first, await BrandRedis.Database.StringGetAsync(BrandKeys.Summary(_brand))); // not even rewritten
    }

    [Fact]
    public async Task MergeAsync_BatchRetriedAfterItsWriteApplied_ReportsWhatThatWriteMergedNotDuplicates()
    {
        // The first attempt's MULTI/EXEC applied, then the process was killed before the step was recorded: the retry runs
        // on a fresh process (fresh metrics). Before: it reported merged 0, duplicates 2, and the metrics counted 2 duplicates.
        await NewStore().MergeAsync(_brand, [Chunk("a"), Chunk("b"), "{oops"], "run-1", CancellationToken.None);
        var metrics = new BrandMetrics();

        var retried = await NewStore(metrics: metrics).MergeAsync(_brand, [Chunk("a"), Chunk("b"), "{oops"], "run-1", CancellationToken.None);
        var otherBatch = await NewStore().MergeAsync(_brand, [Chunk("a"), Chunk("b")], "run-2", CancellationToken.None);

        Assert.Equal(new MergeOutcome(2, 0, 1, 2, 6, 0), retried);
        Assert.Equal((2L, 0L, 1L), metrics.Counters(_brand));
        Assert.Equal(new MergeOutcome(0, 2, 0, 2, 6, 0), otherBatch);
        Assert.Equal(1, await BrandRedis.Database.ListLengthAsync(BrandKeys.Failed(_brand)));
    }

    [Fact]
    public async Task MergeAsync_BatchRunAgainInTheProcessThatCountedIt_CountedOnceAndOneReceiptPerBrand()
    {
        // The merge returned and counted, but the step was run again (its end not stored): the receipt answers, and the
        // metrics do not count the batch twice. The receipt lives in the brand's state: one per brand, not one key per batch
        // (a review measured 264 bytes per batch kept for 7 days in the first version).
        var metrics = new BrandMetrics();
        var store = NewStore(metrics: metrics);
        for (var i = 0; i < 20; i++)
        {
            await store.MergeAsync(_brand, [Chunk("c" + i)], "run-" + i, CancellationToken.None);
        }

        await store.MergeAsync(_brand, [Chunk("a"), Chunk("b"), "{oops"], "run-x", CancellationToken.None);
        var again = await store.MergeAsync(_brand, [Chunk("a"), Chunk("b"), "{oops"], "run-x", CancellationToken.None);

        Assert.Equal(new MergeOutcome(2, 0, 1, 22, 66, 0), again);
        Assert.Equal((22L, 0L, 1L), metrics.Counters(_brand));
        using var state = JsonDocument.Parse((string)(await BrandRedis.Database.StringGetAsync(BrandKeys.State(_brand)))!);
        Assert.Equal("run-x", state.RootElement.GetProperty("lastBatch").GetProperty("runId").GetString());
        var keys = new List<string>();
        await foreach (var key in BrandRedis.Database.Multiplexer.GetServers()[0].KeysAsync(pattern: "baton:brand-insights:*" + _brand + "*"))
        {
            keys.Add(key!);
        }

        Assert.Equal([BrandKeys.Merged(_brand), BrandKeys.State(_brand)], keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task MergeAsync_DeadLetterListOfAnotherType_RefusedBeforeAnythingIsWritten()
    {
        // Redis applies the rest of a MULTI/EXEC when one command in it fails: before, the state and its receipt were written,
        // the dead letter's RPUSH failed, and the retry reported the batch done from the receipt without the dead letter.
        await BrandRedis.Database.StringSetAsync(BrandKeys.Failed(_brand), "not a list");
        var store = NewStore();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.MergeAsync(_brand, [Chunk("a"), "{oops"], "run-1", CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.MergeAsync(_brand, [Chunk("a"), "{oops"], "run-1", CancellationToken.None));

        Assert.Contains($"{BrandKeys.Failed(_brand)} holds a string, not a list", error.Message, StringComparison.Ordinal);
        Assert.False(await BrandRedis.Database.KeyExistsAsync(BrandKeys.State(_brand)));
    }

    [Fact]
    public async Task MergeAsync_DeadLetteringBatchRefusedThenRunAgain_RejectLoggedOnceWhenWritten()
    {
        // Before: the store logged each chunk it dead-letters while parsing, at every attempt: the one refused before
        // writing, the one that wrote and the one its receipt answered, 3 lines for the one chunk on the failed list.
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(logging => logging.AddProvider(logs));
        var store = NewStore(logger: loggers.CreateLogger<BrandStateStore>());
        await BrandRedis.Database.StringSetAsync(BrandKeys.Failed(_brand), "not a list");
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.MergeAsync(_brand, [Chunk("a"), "{oops"], "run-1", CancellationToken.None));
        await BrandRedis.Database.KeyDeleteAsync(BrandKeys.Failed(_brand));

        await store.MergeAsync(_brand, [Chunk("a"), "{oops"], "run-1", CancellationToken.None);
        var again = await store.MergeAsync(_brand, [Chunk("a"), "{oops"], "run-1", CancellationToken.None);

        Assert.Equal(new MergeOutcome(1, 0, 1, 1, 3, 0), again);
        Assert.Equal(1, await BrandRedis.Database.ListLengthAsync(BrandKeys.Failed(_brand)));
        Assert.Single(logs.Entries, e => e.EventId == 3001);
    }

    [Fact]
    public async Task MergeAsync_BatchOfChunksAllMergedBefore_CountsThemAsDuplicates()
    {
        // Before: such a batch returned before the counters were touched, so orchestrator_chunks_duplicate_total missed
        // a worker's re-push of chunks already merged (a reviewer: four duplicate pushes, the metric still 0).
        var metrics = new BrandMetrics();
        var store = NewStore(metrics: metrics);
        await store.MergeAsync(_brand, [Chunk("a"), Chunk("b")], null, CancellationToken.None);

        await store.MergeAsync(_brand, [Chunk("a")], null, CancellationToken.None);
        await store.MergeAsync(_brand, [Chunk("a"), Chunk("b"), Chunk("a")], null, CancellationToken.None);

        Assert.Equal((2L, 4L, 0L), metrics.Counters(_brand));
    }

    [Fact]
    public async Task MergeAsync_BatchOfDuplicatesRunAgainInTheProcessThatCountedIt_CountedOnce()
    {
        // The merge of a batch of re-pushed chunks returned and counted them, but the step was run again (its end not
        // stored). Before: such a batch writes nothing, so no receipt, and every run of it counted its duplicates again.
        var metrics = new BrandMetrics();
        var store = NewStore(metrics: metrics);
        await store.MergeAsync(_brand, [Chunk("a"), Chunk("b")], "run-1", CancellationToken.None);
        await store.MergeAsync(_brand, [Chunk("a"), Chunk("b")], "run-2", CancellationToken.None);

        var again = await store.MergeAsync(_brand, [Chunk("a"), Chunk("b")], "run-2", CancellationToken.None);

        Assert.Equal(new MergeOutcome(0, 2, 0, 2, 6, 0), again);
        Assert.Equal((2L, 2L, 0L), metrics.Counters(_brand));
    }

    [Fact]
    public async Task MergeAsync_DuplicateIdInBatchAndAcrossBatches_FirstOccurrenceWins()
    {
        var store = NewStore();
        await store.MergeAsync(_brand, [Chunk("a", mentionCount: 1), Chunk("a", mentionCount: 100)], null, CancellationToken.None);
        var outcome = await store.MergeAsync(_brand, [Chunk("a", mentionCount: 1000), Chunk("b", mentionCount: 10)], null, CancellationToken.None);

        Assert.Equal(new MergeOutcome(1, 1, 0, 2, 11, 0), outcome);
    }

    [Fact]
    public async Task MergeAsync_InvalidChunk_DeadLetteredRawOthersMerged()
    {
        var outcome = await NewStore().MergeAsync(_brand, ["{oops", Chunk("a")], null, CancellationToken.None);

        Assert.Equal(new MergeOutcome(1, 0, 1, 1, 3, 0), outcome);
        Assert.Equal(["{oops"], (await BrandRedis.Database.ListRangeAsync(BrandKeys.Failed(_brand))).Select(v => (string)v!));
    }

    [Fact]
    public async Task MergeAsync_ConcurrentWritersOverlappingBatches_EachIdMergedOnce()
    {
        // Two writers (as two nodes would be without Baton's per-brand lock) race on overlapping batches: the guarded
        // write makes the loser read again, so every chunk id counts once.
        var batches = Enumerable.Range(0, 8).Select(b => Enumerable.Range(b * 5, 10).Select(i => Chunk("c" + i, mentionCount: 1)).ToList()).ToList();
        var stores = new[] { NewStore(), NewStore() };

        await Task.WhenAll(batches.Select((batch, i) => Task.Run(() => stores[i % 2].MergeAsync(_brand, batch, null, CancellationToken.None))));

        using var summary = await ReadSummaryAsync();
        Assert.Equal(45, summary.RootElement.GetProperty("totalChunks").GetInt32());
        Assert.Equal(45, summary.RootElement.GetProperty("totalMentions").GetInt32());
        Assert.Equal(45, await BrandRedis.Database.SetLengthAsync(BrandKeys.Merged(_brand)));
    }

    [Fact]
    public async Task MergeAsync_CentroidClusterAcrossBatches_CountsDistinctMentions()
    {
        var store = NewStore();
        await store.MergeAsync(_brand, [Chunk("a", """[{"id":"k","label":"K","mentions":["m1","m2"],"spike":false,"centroid":[1,0]}]""")], null, CancellationToken.None);
        await store.MergeAsync(_brand, [Chunk("b", """[{"id":"k2","label":"K2","mentions":["m2","m3"],"spike":true,"centroid":[2,0]}]""")], null, CancellationToken.None);

        using var summary = await ReadSummaryAsync();
        var cluster = summary.RootElement.GetProperty("clusters")[0];
        Assert.Equal("k", cluster.GetProperty("id").GetString());
        Assert.Equal(3, cluster.GetProperty("mentions").GetInt32());
        Assert.True(cluster.GetProperty("spike").GetBoolean());
    }

    [Fact]
    public async Task MergeAsync_SummaryTtlSet_SummaryExpires()
    {
        var options = new BrandInsightsOptions { SummaryTtl = TimeSpan.FromMinutes(10) };
        await NewStore(options).MergeAsync(_brand, [Chunk("a")], null, CancellationToken.None);

        var ttl = await BrandRedis.Database.KeyTimeToLiveAsync(BrandKeys.Summary(_brand));
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
    }

    private string Chunk(string id, string? clusters = null, double mentionCount = 3) =>
        JsonSerializer.Serialize(new
        {
            chunkId = id,
            brand = _brand,
            processedAt = "2025-01-01T00:00:00Z",
            sentiment = new { positive = 5, neutral = 2, negative = 1, score = 4 },
            topics = new[] { "launch" },
            clusters = JsonDocument.Parse(clusters ?? """[{"id":"launch-positive","label":"Launch Buzz","mentions":["m1","m2"],"spike":true}]""").RootElement,
            meta = new { mentionCount },
        });

    private async Task<JsonDocument> ReadSummaryAsync() => JsonDocument.Parse((string)(await BrandRedis.Database.StringGetAsync(BrandKeys.Summary(_brand)))!);

    private BrandStateStore NewStore(BrandInsightsOptions? options = null, BrandMetrics? metrics = null, ILogger<BrandStateStore>? logger = null) =>
        new(() => BrandRedis.Database, options ?? new BrandInsightsOptions(), _time, metrics ?? new BrandMetrics(), logger ?? NullLogger<BrandStateStore>.Instance);
}
