using Baton.Dashboard.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Baton.Dashboard.Tests.Browser;

/// <summary>Sign-in and the schedules page in Chromium against the real server (SQLite).</summary>
[Collection(BrowserCollection.Name)]
public sealed class SchedulesAndAccessBrowserTests(BrowserFixture fixture)
{
    [Fact]
    public async Task SignIn_WrongKey_RefusedOnTheSignInPageWithoutCookie()
    {
        await using var server = await DashboardServer.StartAsync();
        var page = await fixture.Browser.NewPageAsync(server.BaseAddress);

        await Infrastructure.Browser.SignInAsync(page, "not-the-admin-key");
        var refusal = await page.TextContentAsync("[role=alert]");
        var cookies = await page.Context.CookiesAsync();
        await Infrastructure.Browser.ScreenshotAsync(page, "dashboard-signin-refused.png");
        // Still signed out: the runs page sends the browser back to sign in.
        await page.GotoAsync("/ui/runs");

        Assert.Contains("That key was refused", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain(cookies, c => c.Name == "baton_ui");
        Assert.Contains("/ui/signin", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schedules_CreateDisableDelete_ListFollows()
    {
        await using var server = await DashboardServer.StartAsync();
        var page = await fixture.Browser.SignedInPageAsync(server);
        await page.GotoAsync("/ui/schedules");

        await page.FillAsync("#schedule-form input[name=name]", "nightly-demo");
        await page.SelectOptionAsync("#schedule-form select[name=workflow]", "demo");
        await page.FillAsync("#schedule-form input[name=cron]", "0 3 * * *");
        await page.FillAsync("#schedule-form textarea[name=input]", """{"items":2}""");
        await page.ClickAsync("#schedule-form button[type=submit]");
        var row = page.Locator("tr[data-schedule=nightly-demo]");
        await row.WaitForAsync();
        var cells = await row.Locator("td").AllTextContentsAsync();
        await Infrastructure.Browser.ScreenshotAsync(page, "dashboard-schedules.png");

        await row.Locator("button:text('Disable')").ClickAsync();
        var enabledAfterDisable = await page.Locator("tr[data-schedule=nightly-demo] td").Nth(4).TextContentAsync();
        await page.Locator("tr[data-schedule=nightly-demo] button:text('Delete')").ClickAsync();
        await page.Locator(".message").WaitForAsync();
        var remaining = await page.Locator("tr[data-schedule=nightly-demo]").CountAsync();

        Assert.Equal("demo", cells[1]);
        Assert.Equal("0 3 * * *", cells[2]);
        Assert.Equal("yes", cells[4]);
        Assert.EndsWith(" 03:00:00Z", cells[5], StringComparison.Ordinal);
        Assert.Equal("no", enabledAfterDisable);
        Assert.Equal(0, remaining);
    }
}
