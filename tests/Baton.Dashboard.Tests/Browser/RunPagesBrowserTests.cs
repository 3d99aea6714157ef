using Baton.Dashboard.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Baton.Dashboard.Tests.Browser;

/// <summary>The runs and run pages (progress, live timeline, cancel and retry) in Chromium against the real server, on both stores.</summary>
[Collection(BrowserCollection.Name)]
public sealed class RunPagesBrowserTests(BrowserFixture fixture)
{
    private static readonly PageWaitForFunctionOptions Within30S = new() { Timeout = 30_000, PollingInterval = 50 };

    [Theory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task RunPage_DemoRunStarted_ProgressMovesLiveThenSucceeds(Store store)
    {
        await using var server = await DashboardServer.StartAsync(store);
        var page = await fixture.Browser.SignedInPageAsync(server);

        // About 8 s of items (400 ms each, two at a time): the progress must still have to move after the page is read,
        // and a browser on a loaded 2-core machine can take seconds between the bar appearing and that read.
        var runId = await Infrastructure.Browser.StartDemoRunAsync(page, """{"items":40,"delayMs":400,"parallelism":2}""");

        // The bar appears once the fan-out has counted its items (the page renders itself again for a new counter).
        await page.WaitForSelectorAsync("[data-bar=items] progress", new PageWaitForSelectorOptions { Timeout = 30_000 });
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        var first = await page.EvalOnSelectorAsync<double>("[data-bar=items] progress", "p => p.value");
        // Moved by the server's events, in the same document: no reload, no polling.
        await page.WaitForFunctionAsync(
            "v => window.__sameDocument === true && document.querySelector('[data-bar=items] progress').value > v", first, Within30S);
        var moved = await page.EvalOnSelectorAsync<double>("[data-bar=items] progress", "p => p.value");
        if (store == Store.Sqlite)
        {
            await Infrastructure.Browser.ScreenshotAsync(page, "dashboard-run.png");
        }

        await page.WaitForFunctionAsync("() => document.querySelector('#run-status')?.textContent === 'succeeded'", null, Within30S);
        var done = await page.TextContentAsync("[data-bar=items] [data-bar-done]");
        await page.GotoAsync("/ui/runs");
        var listed = await page.TextContentAsync($"tr[data-run='{runId}'] [data-live=status]");
        if (store == Store.Sqlite)
        {
            await Infrastructure.Browser.ScreenshotAsync(page, "dashboard-runs.png");
        }

        Assert.True(moved > first, $"progress went from {first} to {moved}");
        Assert.Equal("40 / 40", done);
        Assert.Equal("succeeded", listed);
    }

    [Fact]
    public async Task RunPage_CancelThenRetry_StatusFollows()
    {
        await using var server = await DashboardServer.StartAsync();
        var page = await fixture.Browser.SignedInPageAsync(server);
        await Infrastructure.Browser.StartDemoRunAsync(page, """{"items":200,"delayMs":1000,"parallelism":1}""");

        await page.ClickAsync("button:text('Cancel')");
        await page.WaitForFunctionAsync("() => document.querySelector('#run-status')?.textContent === 'cancelled'", null, Within30S);
        // The Retry button must appear (a timeout fails the test). IsVisibleAsync, used before, does not wait: the status
        // can change a moment before the page shows the button (seen once in CI).
        var retry = await page.WaitForSelectorAsync("button:text('Retry')", new PageWaitForSelectorOptions { State = WaitForSelectorState.Visible, Timeout = 30_000 });
        Assert.NotNull(retry);
        await retry.ClickAsync();
        await page.WaitForFunctionAsync("() => ['pending', 'running'].includes(document.querySelector('#run-status')?.textContent)", null, Within30S);
        var afterRetry = await page.TextContentAsync("#run-status");
        var message = await page.TextContentAsync(".message");

        Assert.Contains(afterRetry, new[] { "pending", "running" });
        Assert.Equal("Retried: the run resumes at the step that failed.", message);
    }

    [Theory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task RunPage_StepsProgressWhileOpen_NewStepRowsAndEventsAppearWithoutReload(Store store)
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

        // An event nobody waits for yet: the events table shows it, still in the same document.
        await api.SendEventAsync(run.Run.Id, "note", new { by = "test" });
        await page.WaitForFunctionAsync(
            "() => window.__sameDocument === true && document.querySelector('[data-section=events]')?.textContent.includes('note')", null, Within30S);
        var eventsTable = await page.TextContentAsync("[data-section=events] h2");
        await api.SendEventAsync(run.Run.Id, "go", new { by = "test" });
        await page.WaitForFunctionAsync("() => document.querySelector('#run-status')?.textContent === 'succeeded'", null, Within30S);

        Assert.Null(summarizeAtMark);
        Assert.True(sameDocument, "the rows arrived without a reload");
        Assert.Equal("suspended", statusWhileWaiting);
        Assert.Contains("8 items: 8 succeeded", fanOut, StringComparison.Ordinal);
        Assert.Equal("event", eventKind);
        Assert.Equal(["prepare", "items/*", "summarize"], order[..3]);
        Assert.StartsWith("event:go", order[3], StringComparison.Ordinal);
        Assert.Equal("Events (1)", eventsTable);
    }
}
