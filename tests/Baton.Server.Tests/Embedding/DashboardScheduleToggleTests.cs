using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Baton.Scheduling;
using Baton.Storage;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Server.Tests.Embedding;

/// <summary>
/// The dashboard's enable and disable of a schedule with the schedule changed between the toggle's read and its write: the
/// real SQLite store behind <see cref="WatchedScheduleStore"/>, which deletes or replaces the schedule right after a read
/// of it once armed.
/// </summary>
public sealed class DashboardScheduleToggleTests
{
    [Theory]
    [InlineData("disable")]
    [InlineData("enable")]
    public async Task Toggle_ScheduleDeletedAfterItWasRead_SaysNoSuchScheduleAndDoesNotBringItBack(string action)
    {
        // Before: the toggle wrote back the whole schedule it had read, so the deleted schedule was created again
        // ("disabled nightly" / "enabled nightly", and it fired again when enabled).
        var armed = 0;
        await using var host = await EmbeddedHost.StartAsync(configureServices: services => Watch(services, async store =>
        {
            if (Interlocked.Exchange(ref armed, 0) == 1)
            {
                await store.DeleteScheduleAsync("nightly");
            }
        }));
        await PutAsync(host, enabled: action == "disable");
        using var browser = await SignInAsync(host);

        Volatile.Write(ref armed, 1);
        var notice = await ToggleAsync(browser, action);

        Assert.Equal("no schedule named nightly", notice);
        using var get = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, "/api/schedules/nightly", adminKey: EmbeddedHost.AdminKey));
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Empty(await host.Services.GetRequiredService<ISchedules>().ListAsync());
    }

    [Theory]
    [InlineData("disable", false)]
    [InlineData("enable", true)]
    public async Task Toggle_ScheduleReplacedAfterItWasRead_KeepsTheNewDefinition(string action, bool enabled)
    {
        // An API PUT with a new cron and input between the toggle's read and its write. Before: the toggle wrote the old
        // definition back over it (cron "0 3 * * *", input {"n":1}).
        var armed = 0;
        await using var host = await EmbeddedHost.StartAsync(configureServices: services => Watch(services, async store =>
        {
            if (Interlocked.Exchange(ref armed, 0) == 1)
            {
                var now = DateTimeOffset.UtcNow;
                await store.UpsertScheduleAsync(new UpsertScheduleRequest
                {
                    Name = "nightly", Workflow = "quick", Cron = "0 4 * * *", TimeZone = "UTC", Input = """{"n":2}""", Enabled = !enabled,
                    Misfire = MisfirePolicy.Skip, NextFireAt = enabled ? null : now.Date.AddDays(1).AddHours(4), Now = now,
                });
            }
        }));
        await PutAsync(host, enabled: !enabled);
        using var browser = await SignInAsync(host);

        Volatile.Write(ref armed, 1);
        var notice = await ToggleAsync(browser, action);
        var stored = await host.Services.GetRequiredService<ISchedules>().GetAsync("nightly");

        Assert.Equal($"{action}d nightly", notice);
        Assert.Equal(("0 4 * * *", """{"n":2}""", enabled), (stored!.Cron, stored.Input, stored.Enabled));
        Assert.Equal(enabled, stored.NextFireAt is not null);
    }

    private static void Watch(IServiceCollection services, Func<IScheduleStore, Task> afterGet) =>
        services.AddSingleton<IScheduleStore>(sp => new WatchedScheduleStore(sp.GetRequiredService<IBatonStore>().Schedules, afterGet: afterGet));

    private static async Task PutAsync(EmbeddedHost host, bool enabled)
    {
        using var put = EmbeddedHost.Request(HttpMethod.Put, "/api/schedules/nightly", adminKey: EmbeddedHost.AdminKey);
        put.Content = new StringContent(
            JsonSerializer.Serialize(new { workflow = "quick", cron = "0 3 * * *", input = new { n = 1 }, enabled }), System.Text.Encoding.UTF8, "application/json");
        using var response = await host.Client.SendAsync(put);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private static async Task<HttpClient> SignInAsync(EmbeddedHost host)
    {
        var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = host.Client.BaseAddress };
        var page = await browser.GetStringAsync("/ui/signin");
        using var signIn = await PostFormAsync(browser, page, "/ui/signin", new() { ["key"] = EmbeddedHost.AdminKey });
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        return browser;
    }

    /// <summary>Posts the schedules page's enable or disable of "nightly" and returns the notice the page then shows.</summary>
    private static async Task<string?> ToggleAsync(HttpClient browser, string action)
    {
        var page = await browser.GetStringAsync("/ui/schedules");
        using var posted = await PostFormAsync(browser, page, $"/ui/schedules/nightly/{action}", []);
        Assert.Equal(HttpStatusCode.Redirect, posted.StatusCode);
        var html = await browser.GetStringAsync(posted.Headers.Location!.OriginalString);
        var match = Regex.Match(html, "<p class=\"message\">(.*?)</p>", RegexOptions.Singleline);
        return match.Success ? WebUtility.HtmlDecode(match.Groups[1].Value) : null;
    }

    private static Task<HttpResponseMessage> PostFormAsync(HttpClient browser, string page, string action, Dictionary<string, string> fields)
    {
        var token = Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        fields["__RequestVerificationToken"] = WebUtility.HtmlDecode(token);
        return browser.PostAsync(action, new FormUrlEncodedContent(fields));
    }
}
