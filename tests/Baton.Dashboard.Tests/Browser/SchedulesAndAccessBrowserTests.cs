using System.Net;
using System.Text;
using Baton.Dashboard.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Baton.Dashboard.Tests.Browser;

/// <summary>Sign-in and the schedules page in Chromium against the real server (SQLite).</summary>
[Collection(BrowserCollection.Name)]
public sealed class SchedulesAndAccessBrowserTests(BrowserFixture fixture)
{
    [Fact]
    public async Task ScheduleEdit_WorkflowNotRegisteredOnThisNode_FormShowsItAndTheSaveIsRefusedChangingNothing()
    {
        // A schedule of a workflow another node registers (here: written while the review gateway app was on, edited with it off).
        var database = Path.Combine(TestPaths.NewTempDirectory(), "baton.db");
        await using (var first = await DashboardServer.StartAsync(extra: new Dictionary<string, string?>
        {
            ["Baton__Store__Sqlite__Path"] = database, ["Baton__Apps__ReviewGateway__Enabled"] = "true",
            ["PORT"] = Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
        }))
        {
            using var put = await first.NewBrowserlessClient().SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/schedules/forward-nightly")
            {
                Headers = { { "X-ADMIN-KEY", DashboardServer.AdminKey } },
                Content = new StringContent("""{"workflow":"review-forward","cron":"0 3 * * *"}""", Encoding.UTF8, "application/json"),
            });
            Assert.True(put.StatusCode == HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
        }

        await using var server = await DashboardServer.StartAsync(extra: new Dictionary<string, string?> { ["Baton__Store__Sqlite__Path"] = database });
        var page = await fixture.Browser.SignedInPageAsync(server);
        await page.GotoAsync("/ui/schedules?edit=forward-nightly");
        var shownWorkflow = await page.EvalOnSelectorAsync<string>("#schedule-form select[name=workflow]", "s => s.value");

        // The operator only changes the cron, and saves.
        await page.FillAsync("#schedule-form input[name=cron]", "0 4 * * *");
        await page.ClickAsync("#schedule-form button[type=submit]");
        await page.Locator(".message").WaitForAsync();
        var notice = await page.TextContentAsync(".message");
        var stored = Assert.Single(await server.NewApiClient().ListSchedulesAsync(), s => s.Name == "forward-nightly");

        // The form shows the schedule's own workflow, and a node that cannot run it refuses the save, changing nothing. Before
        // (a review): the form showed, and saved, the first workflow this node registers ('demo').
        Assert.Equal("review-forward", shownWorkflow);
        Assert.StartsWith("refused: no workflow named 'review-forward'", notice?.Trim(), StringComparison.Ordinal);
        Assert.Equal(("review-forward", "0 3 * * *"), (stored.Workflow, stored.Cron));
    }

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
