using System.Text.Json;
using Baton.Apps.BrandInsights.Tests.Infrastructure;
using Baton.Apps.BrandInsights.Trigger;
using Baton.Simulators.BrandWorkers;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>
/// A brand's lease taken by another process between two of this one's brand refreshes: this process moves none of
/// the brand's chunks from that moment on (before the fix it kept reading until its next refresh, so the new holder's
/// batches could be stored before its last one and the brand's chunks merged out of arrival order).
/// </summary>
public sealed class LeaseHandoffTests : PrivateRedisTests
{
    private static string Chunk(string brand, int n, string topic) =>
        $$"""{"chunkId":"{{brand}}-{{n}}","brand":"{{brand}}","processedAt":"2025-01-01T00:00:00Z","sentiment":{"positive":1,"neutral":0,"negative":0,"score":1},"topics":["{{topic}}"],"clusters":[]}""";

    [Fact]
    public async Task LeaseTakenByAnotherProcess_NoChunkMovedUntilItIsBack_ThenMergedInOrder()
    {
        const string brand = "handoff";
        var db = Db;
        await BrandWorkersSimulator.RegisterBrandsAsync(db, [brand], asList: false);
        var environment = BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-a");
        // No refresh during the test: the brand stays on this process's list of brands after its lease is taken.
        environment["BRAND_REFRESH_INTERVAL_SEC"] = "600";
        environment["Logging__LogLevel__Baton.Redis"] = "Debug";
        await using var server = await BrandServer.StartAsync(environment);
        await Poll.UntilAsync(async () => (string?)await db.StringGetAsync(BrandLeases.OwnerKey(brand)), o => o == "orchestrator-a", "the brand's lease");

        await db.ListRightPushAsync(BrandKeys.Chunks(brand), Chunk(brand, 1, "first"));
        await Poll.UntilAsync(() => TotalChunksAsync(brand), n => n == 1, "the first chunk merged");

        // Another process holds the lease now; chunks pushed after that stay on the list.
        await db.StringSetAsync(BrandLeases.OwnerKey(brand), "orchestrator-b", TimeSpan.FromMinutes(5));
        await db.ListRightPushAsync(BrandKeys.Chunks(brand), [Chunk(brand, 2, "second"), Chunk(brand, 3, "third")]);
        await Poll.UntilAsync(
            async () => server.Process.Stdout.Contains("does not hold the lease " + BrandLeases.OwnerKey(brand), StringComparison.Ordinal)
                        || await db.ListLengthAsync(BrandKeys.Chunks(brand)) < 2,
            done => done,
            "a take refused for the brand's lease (or, the defect, chunks moved)");
        Assert.Equal(2, await db.ListLengthAsync(BrandKeys.Chunks(brand)));
        Assert.Equal(1, await TotalChunksAsync(brand));

        // The lease back (as when the other process gives the brand back): the rest is merged, in arrival order.
        await db.StringSetAsync(BrandLeases.OwnerKey(brand), "orchestrator-a", TimeSpan.FromMinutes(5));
        await Poll.UntilAsync(() => TotalChunksAsync(brand), n => n == 3, "the other chunks merged");
        var summary = JsonDocument.Parse((string)(await db.StringGetAsync(BrandKeys.Summary(brand)))!).RootElement;
        Assert.Equal("""["first","second","third"]""", summary.GetProperty("dominantTopics").GetRawText());
        Assert.Equal(0, await db.ListLengthAsync(BrandKeys.Chunks(brand)));
    }

    [Fact]
    public async Task GracefulStop_GivesTheBrandsLeasesBack_SoTheNextProcessTakesThemAtItsFirstRefresh()
    {
        // Before: the lease stayed until its time to live ran out (2 refreshes + 40 s: 100 s at the default refresh), and
        // a replacement process under another id merged nothing of those brands until then.
        const string brand = "graceful";
        var db = Db;
        await BrandWorkersSimulator.RegisterBrandsAsync(db, [brand], asList: false);
        var first = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-old"));
        await using (first)
        {
            await Poll.UntilAsync(async () => (string?)await db.StringGetAsync(BrandLeases.OwnerKey(brand)), o => o == "orchestrator-old", "the brand's lease");
            await db.ListRightPushAsync(BrandKeys.Chunks(brand), Chunk(brand, 1, "first"));
            await Poll.UntilAsync(() => TotalChunksAsync(brand), n => n == 1, "the first chunk merged");

            first.Process.Terminate();
            Assert.Equal(0, await first.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.False(await db.KeyExistsAsync(BrandLeases.OwnerKey(brand)));
        var released = first.Process.Output.Split('\n').Single(l => l.Contains("\"EventId\":3010", StringComparison.Ordinal));
        Assert.Contains("\"Count\":1", released, StringComparison.Ordinal);
        await using var next = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-new"));
        await db.ListRightPushAsync(BrandKeys.Chunks(brand), Chunk(brand, 2, "second"));
        // Well under the old lease's time to live (the tests' refresh is 0.2 s, so it lived 40.4 s).
        await Poll.UntilAsync(() => TotalChunksAsync(brand), n => n == 2, "the next process merging the brand", TimeSpan.FromSeconds(20));
    }

    private async Task<int> TotalChunksAsync(string brand)
    {
        var stored = await Db.StringGetAsync(BrandKeys.Summary(brand));
        return stored.IsNull ? 0 : JsonDocument.Parse((string)stored!).RootElement.GetProperty("totalChunks").GetInt32();
    }
}
