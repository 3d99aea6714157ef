using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Baton.Dashboard.Tests.Infrastructure;

namespace Baton.Dashboard.Tests.Access;

/// <summary>The apps' pages over plain HTTP against the real server process (SQLite).</summary>
public sealed partial class AppPagesTests
{
    [Fact]
    public async Task ReviewGatewayPage_WorkerUnreachable_CountsAcceptedJobsAsRetrying()
    {
        var gatewayPort = Ports.Free();
        await using var server = await DashboardServer.StartAsync(extra: new Dictionary<string, string?>
        {
            ["PORT"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Nothing listens there: every forward attempt fails and the job waits out its backoff (suspended).
            ["WORKER_NODE_URL"] = $"http://127.0.0.1:{Ports.Free()}",
            ["Baton__Apps__ReviewGateway__Enabled"] = "true",
            ["Baton__Apps__ReviewGateway__BaseDelay"] = "00:00:05",
            ["Baton__Apps__ReviewGateway__MaxDelay"] = "00:00:10",
        });
        using var gateway = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gatewayPort}") };
        foreach (var place in new[] { "place-a", "place-b", "place-c" })
        {
            using var accepted = await gateway.PostAsync("/enqueue", new StringContent($$"""{"placeId":"{{place}}"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var counts = await Poll.UntilAsync(
            async () => Counts(await client.GetStringAsync("/ui/apps/review-gateway")),
            c => c.GetValueOrDefault("retrying") == 3,
            "the three jobs to wait out a backoff",
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(200));

        Assert.Equal(3, counts["accepted"]);
        Assert.Equal(0, counts["forwarded"]);
        Assert.Equal(0, counts["failed"]);
    }

    [Fact]
    public async Task AppPages_AppsNotEnabled_404AndNotInNavigation()
    {
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var runs = await client.GetStringAsync("/ui/runs");

        foreach (var path in new[] { "/ui/apps/brand-insights", "/ui/apps/doctor-onboarding" })
        {
            using var page = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
            Assert.Contains("not enabled", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.DoesNotContain(path, runs, StringComparison.Ordinal);
        }
    }

    private static Dictionary<string, long> Counts(string html) =>
        CountRow().Matches(html).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex("<tr data-count=\"([a-z]+)\"><td>[a-z]+</td><td class=\"num\">([0-9]+)</td></tr>")]
    private static partial Regex CountRow();
}
