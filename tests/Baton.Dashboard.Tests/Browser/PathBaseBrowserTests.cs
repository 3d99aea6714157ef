using System.Text.Json;
using Baton.Dashboard.Tests.Infrastructure;
using Baton.Runs;
using Baton.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Baton.Dashboard.Tests.Browser;

/// <summary>The dashboard embedded in a host app mounted under a path base (<c>app.UsePathBase("/baton")</c>), in Chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class PathBaseBrowserTests(BrowserFixture fixture)
{
    private const string Root = "/baton/ui";

    /// <summary>Every URL the page names: links, form actions, the stylesheet, the script, and the root dashboard.js builds on.</summary>
    private const string NamedUrls = """
        () => [
          ...[...document.querySelectorAll('a[href], link[href]')].map(e => 'href ' + e.getAttribute('href')),
          ...[...document.querySelectorAll('form')].map(e => 'action ' + e.getAttribute('action')),
          ...[...document.querySelectorAll('script')].map(e => 'src ' + e.getAttribute('src')),
          'root ' + document.body.getAttribute('data-dashboard-root'),
        ]
        """;

    [Fact]
    public async Task Dashboard_UnderAPathBase_EveryLinkFormRequestAndNotFoundTextStaysUnderIt()
    {
        await using var host = await EmbeddingHost.StartAsync(pathBase: "/baton");
        var awaiting = (await host.Client.StartRunAsync(new StartRunRequest { Workflow = "awaiting", Input = Text("a") })).Run!.Id;
        var failing = (await host.Client.StartRunAsync(new StartRunRequest { Workflow = "failing", Input = Text("f") })).Run!.Id;
        await Poll.UntilAsync(() => host.Client.GetRunAsync(failing), d => d?.Run.Status == RunStatus.Failed, "the failing run to fail");
        await host.Services.GetRequiredService<ISchedules>().PutAsync(new Baton.Scheduling.ScheduleDefinition
        {
            Name = "nightly", Workflow = "awaiting", Cron = "0 3 * * *", Input = Text("s"), Enabled = true,
        });
        var page = await fixture.Browser.NewPageAsync(host.BaseAddress);
        var requested = new List<string>();
        page.Request += (_, request) => { lock (requested) { requested.Add(request.Url); } };
        var named = new List<(string Page, string Url)>();
        async Task CollectAsync()
        {
            var path = new Uri(page.Url).PathAndQuery;
            named.AddRange((await page.EvaluateAsync<string[]>(NamedUrls)).Select(url => (path, url)));
        }

        // Signed out, the runs page sends the browser to sign in under the prefix; signing in comes back to it.
        await page.GotoAsync($"{Root}/runs");
        await CollectAsync();
        await page.FillAsync("input[name=key]", EmbeddingHost.AdminKey);
        await page.ClickAsync("button[type=submit]");
        await page.Locator("#start-run").WaitForAsync();
        await CollectAsync();
        // A live run's page (its live stream), and its Cancel form.
        await page.RunAndWaitForRequestAsync(
            () => page.GotoAsync($"{Root}/runs/{awaiting}"), request => request.Url.Contains("/live/runs/", StringComparison.Ordinal));
        await CollectAsync();
        await page.ClickAsync("button:text('Cancel')");
        await page.Locator(".message").WaitForAsync();
        var cancelled = (Path: new Uri(page.Url).AbsolutePath, Notice: await page.TextContentAsync(".message"));
        await CollectAsync();
        // A failed run's Retry form.
        await page.GotoAsync($"{Root}/runs/{failing}");
        await CollectAsync();
        await page.ClickAsync("button:text('Retry')");
        await page.Locator(".message").WaitForAsync();
        var retried = (Path: new Uri(page.Url).AbsolutePath, Notice: await page.TextContentAsync(".message"));
        await CollectAsync();
        // The schedules page and its switch.
        await page.GotoAsync($"{Root}/schedules");
        await CollectAsync();
        await page.ClickAsync("tr[data-schedule=nightly] button:text('Disable')");
        await page.Locator(".message").WaitForAsync();
        var disabled = (Path: new Uri(page.Url).AbsolutePath, Enabled: await page.Locator("tr[data-schedule=nightly] td").Nth(4).TextContentAsync());
        await CollectAsync();
        await page.GotoAsync($"{Root}/schedules?edit=nightly");
        await CollectAsync();
        // Pages that are not there.
        await page.GotoAsync($"{Root}/runs/no-such-run");
        var noRun = await page.TextContentAsync("main");
        await CollectAsync();
        await page.GotoAsync($"{Root}/no-such-page");
        var noPage = await page.TextContentAsync("main");
        await CollectAsync();
        // Signing out lands on the sign-in page under the prefix.
        await page.ClickAsync("header button:text('Sign out')");
        await page.Locator("input[name=key]").WaitForAsync();
        var signedOut = new Uri(page.Url).AbsolutePath;
        string[] requests;
        lock (requested)
        {
            requests = [.. requested];
        }

        Assert.All(named, n => Assert.True(
            n.Url.Split(' ', 2)[1].StartsWith(Root + "/", StringComparison.Ordinal) || n.Url == $"root {Root}",
            $"{n.Page} names {n.Url}"));
        Assert.Contains(named, n => n.Url == $"action {Root}/runs/{awaiting}/cancel");
        Assert.Contains(named, n => n.Url == $"action {Root}/runs/{failing}/retry");
        Assert.Contains(named, n => n.Url == $"action {Root}/schedules/nightly/disable");
        // Every request the browser made (pages, posts, redirects, assets, the live stream) went to the prefix.
        Assert.All(requests, url => Assert.StartsWith(Root + "/", new Uri(url).AbsolutePath, StringComparison.Ordinal));
        Assert.Contains(requests, url => new Uri(url).AbsolutePath == $"{Root}/live/runs/{awaiting}");
        Assert.Equal($"{Root}/runs/{awaiting}", cancelled.Path);
        Assert.StartsWith("Cancel", cancelled.Notice, StringComparison.Ordinal);
        Assert.Equal($"{Root}/runs/{failing}", retried.Path);
        Assert.StartsWith("Retried", retried.Notice, StringComparison.Ordinal);
        Assert.Equal(($"{Root}/schedules", "no"), disabled);
        Assert.Contains("No run has the id 'no-such-run'.", noRun, StringComparison.Ordinal);
        // The path the browser asked for, as it asked for it (before: "/ui/no-such-page", without the prefix).
        Assert.Contains($"There is no page at {Root}/no-such-page.", noPage, StringComparison.Ordinal);
        Assert.Equal($"{Root}/signin", signedOut);
    }

    private static JsonElement Text(string text) => JsonSerializer.SerializeToElement(new { text });
}
