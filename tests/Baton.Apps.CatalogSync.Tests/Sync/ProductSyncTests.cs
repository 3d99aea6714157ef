using Baton.Apps.CatalogSync.Tests.Infrastructure;
using Baton.Demo.CatalogFeed;

namespace Baton.Apps.CatalogSync.Tests.Sync;

/// <summary>
/// Whole syncs through the real server whose catalog must equal the feed row for row, and the seed's change
/// detection, run against each product store (<see cref="SqliteProductSyncTests"/>, <see cref="PostgresProductSyncTests"/>).
/// </summary>
public abstract class ProductSyncTests
{
    protected abstract ProductsTarget Target { get; }

    [Fact]
    public async Task Sync_2000ProductsChunkSize300_TableEqualsFeed()
    {
        await using var h = await SyncHarness.StartAsync(target: Target);
        var output = await h.SyncAsync();

        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes()), h.Products());
        Assert.Equal(2_000, output.GetProperty("records").GetInt64());
        Assert.Equal(2_000, output.GetProperty("inserted").GetInt64());
        Assert.Equal(0, output.GetProperty("updated").GetInt64());
        Assert.Equal(0, output.GetProperty("failed").GetInt64());
        Assert.Equal(7, output.GetProperty("chunks").GetInt32());
        Assert.Equal(h.Feed.BodyLength(), output.GetProperty("bytes").GetInt64());
        Assert.Empty(h.DeadLetters());
        // The feed file is removed once the run is done.
        Assert.Empty(Directory.GetFiles(h.BlobDirectory));
    }

    [Fact]
    public async Task Sync_NextDay_UpdatesExactlyTheChangedProductsAndSkipsTheRest()
    {
        await using var h = await SyncHarness.StartAsync(f => f.ChangeFraction = 0.05, target: Target);
        await h.SyncAsync();
        h.Feed.Options.Day = 2;
        var changed = CatalogGenerator.ChangedBetween(h.Feed.Options, 1, 2);
        Assert.InRange(changed, 50, 150);

        var output = await h.SyncAsync();

        Assert.Equal(0, output.GetProperty("inserted").GetInt64());
        Assert.Equal(changed, output.GetProperty("updated").GetInt64());
        Assert.Equal(2_000 - changed, output.GetProperty("skipped").GetInt64());
        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes()), h.Products());
    }

    [Fact]
    public async Task Sync_OlderFeedAfterNewer_SkipsEverythingAndKeepsNewerRows()
    {
        await using var h = await SyncHarness.StartAsync(f => { f.ChangeFraction = 0.05; f.Day = 2; }, target: Target);
        await h.SyncAsync();
        h.Feed.Options.Day = 1;

        var output = await h.SyncAsync();

        Assert.Equal(2_000, output.GetProperty("skipped").GetInt64());
        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes(day: 2)), h.Products());
    }
}

public sealed class SqliteProductSyncTests : ProductSyncTests
{
    protected override ProductsTarget Target => ProductsTarget.Sqlite;
}

public sealed class PostgresProductSyncTests : ProductSyncTests
{
    protected override ProductsTarget Target => ProductsTarget.Postgres;
}
