using Baton.Apps.CatalogSync.Tests.Infrastructure;

namespace Baton.Apps.CatalogSync.Tests.Remote;

public sealed class RemoteModeTests
{
    [Fact]
    public async Task Sync_RemoteMode_DrivesFetcherThenMaintainerInSeedChunksAndSumsStats()
    {
        await using var seed = await SeedServices.StartAsync();
        await using var h = await SyncHarness.StartAsync(settings: Remote(seed));

        var output = await h.SyncAsync();

        Assert.Equal([SyncHarness.AdminKey], seed.FetcherKeys.ToArray());
        Assert.Equal([(0L, 5_000, SyncHarness.AdminKey), (5_000L, 5_000, SyncHarness.AdminKey), (10_000L, 5_000, SyncHarness.AdminKey)], seed.MaintainerCalls.ToArray());
        Assert.Equal(12_345, output.GetProperty("records").GetInt64());
        Assert.Equal(2_500 + 2_500 + 1_172, output.GetProperty("inserted").GetInt64());
        Assert.Equal(3, output.GetProperty("chunks").GetInt32());
        var status = await h.StatusAsync();
        Assert.Equal("completed", status.GetProperty("currentPhase").GetString());
        Assert.Equal(3, status.GetProperty("progress").GetProperty("chunksProcessed").GetInt64());
        Assert.Equal(0, h.Feed.Requests);
    }

    [Fact]
    public async Task Sync_RemoteMaintainerFailsTwice_RetriedAndSucceeds()
    {
        await using var seed = await SeedServices.StartAsync();
        seed.MaintainerFailFirst = 2;
        await using var h = await SyncHarness.StartAsync(settings: Remote(seed));

        var output = await h.SyncAsync();

        Assert.Equal(12_345, output.GetProperty("records").GetInt64());
        Assert.Equal(5, seed.MaintainerCalls.Count);
        Assert.Equal([0L, 0L, 0L, 5_000L, 10_000L], seed.MaintainerCalls.Select(c => c.Offset).ToArray());
    }

    [Fact]
    public async Task Sync_RemoteMaintainerAlwaysFails_RunFailsClearlyAfterThreeChunks()
    {
        await using var seed = await SeedServices.StartAsync();
        seed.MaintainerFailFirst = int.MaxValue;
        await using var h = await SyncHarness.StartAsync(settings: Remote(seed));

        var run = await h.WaitFinishedAsync(await h.StartSyncAsync());

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("3 Maintainer calls in a row failed", run.GetProperty("failure").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(3 * 4, seed.MaintainerCalls.Count);
        Assert.DoesNotContain(SyncHarness.AdminKey, run.ToString(), StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Remote(SeedServices seed) => new()
    {
        ["Baton:Apps:CatalogSync:Mode"] = "Remote",
        ["Baton:Apps:CatalogSync:Remote:FetcherUrl"] = seed.FetcherUrl.ToString(),
        ["Baton:Apps:CatalogSync:Remote:MaintainerUrl"] = seed.MaintainerUrl.ToString(),
        ["Baton:Apps:CatalogSync:Remote:RetryDelay"] = "00:00:00.020",
    };
}
