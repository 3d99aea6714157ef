using Baton.Dashboard.Tests.Infrastructure;
using Baton.Demo.CatalogFeed;
using Microsoft.Playwright;

namespace Baton.Dashboard.Tests.Browser;

/// <summary>The catalog sync page in Chromium while a sync of the demo feed runs (SQLite).</summary>
[Collection(BrowserCollection.Name)]
public sealed class CatalogSyncBrowserTests(BrowserFixture fixture)
{
    private const string FeedUser = "medipim-key-id-ui";
    private const string FeedSecret = "medipim-secret-ui-51c2";

    [Fact]
    public async Task CatalogSyncPage_DuringSync_ShowsTheRunningSyncAndItsChunksMoving()
    {
        await using var feed = await CatalogFeedServer.StartAsync(new CatalogFeedOptions { Products = 20_000, User = FeedUser, Password = FeedSecret });
        var directory = TestPaths.NewTempDirectory();
        await using var server = await DashboardServer.StartAsync(extra: CatalogSyncEnvironment.For(feed, directory, 200,
            ("Baton__Apps__CatalogSync__Parallelism", "2"), ("Baton__Apps__CatalogSync__ChunkDelay", "00:00:00.100")));
        // Signed in before the sync starts: the sign-in's time (seconds on a loaded machine) is not taken from the
        // sync's ~5 s, which must still be running when the page is read and its chunks must still have to move.
        var page = await fixture.Browser.SignedInPageAsync(server);
        await server.StartCatalogSyncAsync();
        await page.GotoAsync("/ui/apps/catalog-sync");
        var status = await page.TextContentAsync("#sync-status [data-live=status]");
        await page.WaitForSelectorAsync("[data-bar=chunks] progress", new PageWaitForSelectorOptions { Timeout = 30_000 });
        var first = await page.EvalOnSelectorAsync<double>("[data-bar=chunks] progress", "p => p.value");
        await page.WaitForFunctionAsync(
            "v => document.querySelector('[data-bar=chunks] progress').value > v", first, new PageWaitForFunctionOptions { Timeout = 30_000 });
        await Infrastructure.Browser.ScreenshotAsync(page, "dashboard-catalog-sync.png");
        await page.WaitForFunctionAsync(
            "() => document.querySelector('#sync-status [data-live=status]')?.textContent === 'succeeded'", null, new PageWaitForFunctionOptions { Timeout = 60_000 });
        var counters = await page.TextContentAsync("#sync-counters");

        Assert.Contains(status, new[] { "pending", "running" });
        Assert.Contains("records", counters, StringComparison.Ordinal);
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
