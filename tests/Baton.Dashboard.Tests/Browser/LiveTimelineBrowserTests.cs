using Baton.Dashboard.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Baton.Dashboard.Tests.Browser;

/// <summary>The run page's timeline follows the run over the live stream, in Chromium against the real server.</summary>
[Collection(BrowserCollection.Name)]
public sealed class LiveTimelineBrowserTests(BrowserFixture fixture)
{
    private static readonly PageWaitForFunctionOptions Within30S = new() { Timeout = 30_000, PollingInterval = 50 };

    [Theory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task RunPage_StepsProgressWhileOpen_NewStepRowsAppearWithoutReload(Store store)
    {
        await using var server = await DashboardServer.StartAsync(store);
        var api = server.NewApiClient();
        var page = await fixture.Browser.SignedInPageAsync(server);
        // prepare, then 8 items one at a time, then summarize, then a wait for the event "go": about 5 s of steps.
        var run = await api.StartAsync("demo", new { items = 8, delayMs = 500, parallelism = 1, waitFor = "go" });
        await page.GotoAsync($"/ui/runs/{run.Run.Id}");

        // The page renders itself once more when the items' counter appears; from then on it is one document.
        await page.WaitForSelectorAsync("[data-bar=items] progress", new PageWaitForSelectorOptions { Timeout = 30_000 });
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        var summarizeAtMark = await page.QuerySelectorAsync("#timeline tbody[data-entry='summarize']");
        await page.WaitForFunctionAsync(
            """
            () => window.__sameDocument === true
                && document.querySelector("#timeline tbody[data-entry='summarize']")?.textContent.includes('succeeded')
                && document.querySelector("#timeline tbody[data-entry^='event:go']") !== null
                && document.querySelector('#run-status')?.textContent === 'suspended'
            """,
            null,
            Within30S);
        var statusWhileWaiting = await page.TextContentAsync("#run-status");
        var fanOut = await page.TextContentAsync("#timeline tbody[data-entry='items/*'] tr.fanout");
        var eventKind = await page.TextContentAsync("#timeline tbody[data-entry^='event:go'] td:nth-child(2)");
        var order = await page.EvalOnSelectorAllAsync<string[]>("#timeline tbody[data-entry]", "bodies => bodies.map(b => b.dataset.entry)");
        var sameDocument = await page.EvaluateAsync<bool>("() => window.__sameDocument === true");

        await api.SendEventAsync(run.Run.Id, "go", new { by = "test" });
        await page.WaitForFunctionAsync("() => document.querySelector('#run-status')?.textContent === 'succeeded'", null, Within30S);

        Assert.Null(summarizeAtMark);
        Assert.True(sameDocument, "the rows arrived without a reload");
        Assert.Equal("suspended", statusWhileWaiting);
        Assert.Contains("8 items: 8 succeeded", fanOut, StringComparison.Ordinal);
        Assert.Equal("event", eventKind);
        Assert.Equal(["prepare", "items/*", "summarize"], order[..3]);
        Assert.StartsWith("event:go", order[3], StringComparison.Ordinal);
    }
}
