using System.Net;
using Baton.Dashboard.Tests.Infrastructure;

namespace Baton.Dashboard.Tests.Access;

/// <summary>The session cookie, the antiforgery checks and the admin key's absence from pages, over plain HTTP (no browser).</summary>
public sealed class AccessTests
{
    [Fact]
    public async Task SignIn_RightKey_SetsHttpOnlySameSiteStrictSessionCookieScopedToUi()
    {
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();

        using var response = await DashboardServer.SignInAsync(client, DashboardServer.AdminKey);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("baton_ui=", StringComparison.Ordinal));
        var attributes = cookie.Split(';', StringSplitOptions.TrimEntries).Skip(1).Select(a => a.ToLowerInvariant()).ToList();

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/ui/runs", response.Headers.Location?.ToString());
        Assert.Contains("httponly", attributes);
        Assert.Contains("samesite=strict", attributes);
        Assert.Contains("path=/ui", attributes);
        // A session cookie (gone with the browser); Secure is set on https only, and this server speaks http.
        Assert.DoesNotContain(attributes, a => a.StartsWith("expires", StringComparison.Ordinal) || a.StartsWith("max-age", StringComparison.Ordinal));
        Assert.DoesNotContain("secure", attributes);
        // The key is not the cookie's value: it is encrypted.
        Assert.DoesNotContain(DashboardServer.AdminKey, cookie, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_ReturnUrlThatCannotBeALocationOrLeavesTheDashboard_RedirectsToTheRunsPage()
    {
        // Before: a value with a non-ASCII or control character went into Location as it was, and Kestrel answered 500;
        // a path step (also escaped) led the browser off the dashboard.
        await using var server = await DashboardServer.StartAsync();
        string?[] refused = ["/ui/runs?workflow=été", "/ui/\r\nX-Injected: 1", "/ui/runs x", "/ui/../api/runs", "/ui/%2e%2E/api/runs", "/ui/./runs", "https://example.com/ui/", "//example.com/ui/"];
        var answers = new List<(string?, HttpStatusCode, string?)>();
        foreach (var returnUrl in refused)
        {
            using var client = server.NewBrowserlessClient();
            using var response = await DashboardServer.SignInAsync(client, DashboardServer.AdminKey, returnUrl!);
            answers.Add((returnUrl, response.StatusCode, response.Headers.Location?.OriginalString));
        }

        using var kept = server.NewBrowserlessClient();
        using var keptResponse = await DashboardServer.SignInAsync(kept, DashboardServer.AdminKey, "/ui/runs?workflow=%C3%A9t%C3%A9&status=failed");

        Assert.All(answers, a => Assert.Equal((a.Item1, HttpStatusCode.Redirect, "/ui/runs"), a));
        Assert.Equal("/ui/runs?workflow=%C3%A9t%C3%A9&status=failed", keptResponse.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task SignIn_WrongKey_Returns401WithRefusalAndNoSessionCookie()
    {
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();

        using var response = await DashboardServer.SignInAsync(client, "wrong-key");
        var body = await response.Content.ReadAsStringAsync();
        var cookies = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.ToList() : [];

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("That key was refused", body, StringComparison.Ordinal);
        Assert.DoesNotContain(cookies, c => c.StartsWith("baton_ui=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Post_WithoutAntiforgeryToken_Refused400AndNothingChanged()
    {
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();

        // A cross-site form post carries the session cookie only if the browser sends it; this one does, and still has no token.
        using var start = await client.PostAsync("/ui/runs", new FormUrlEncodedContent(new Dictionary<string, string> { ["workflow"] = "demo", ["input"] = "{}" }));
        using var schedule = await client.PostAsync("/ui/schedules", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["name"] = "forged", ["workflow"] = "demo", ["cron"] = "* * * * *", ["__RequestVerificationToken"] = "forged-token",
        }));
        using var signIn = await client.PostAsync("/ui/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = DashboardServer.AdminKey }));
        var api = server.NewApiClient();
        var runs = await api.ListAsync();
        var schedules = await api.ListSchedulesAsync();

        Assert.Equal(HttpStatusCode.BadRequest, start.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, schedule.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, signIn.StatusCode);
        Assert.Empty(runs.Runs);
        Assert.DoesNotContain(schedules, s => s.Name == "forged");
    }

    [Fact]
    public async Task StartForm_MoreFieldsThanTheFormLimit_400SaysTheFormCouldNotBeReadNotThatTheTokenIsWrong()
    {
        // Before: "The form's anti-forgery token is missing or wrong: reload the page", for a form with a valid token that
        // ASP.NET Core could not read (over 1,024 fields); reloading would not help.
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var page = await client.GetStringAsync("/ui/runs");
        var fields = new List<KeyValuePair<string, string>>
        {
            new("__RequestVerificationToken", DashboardServer.FormToken(page)), new("workflow", "demo"), new("input", "{}"),
        };
        fields.AddRange(Enumerable.Range(0, 1100).Select(i => new KeyValuePair<string, string>($"x{i}", "1")));

        using var start = await client.PostAsync("/ui/runs", new FormUrlEncodedContent(fields));
        var text = await start.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, start.StatusCode);
        Assert.StartsWith("The form could not be read", text, StringComparison.Ordinal);
        Assert.Empty((await server.NewApiClient().ListAsync()).Runs);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("1")]
    [InlineData("run_once")]
    public async Task ScheduleForm_MisfireNotOneOfItsOptions_RefusedWithTheOptionsAndNothingStored(string misfire)
    {
        // Enum.TryParse took any number (5 was stored as is, and shown as "skip") and read unknown names as Skip.
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var page = await client.GetStringAsync("/ui/schedules");

        using var saved = await client.PostAsync("/ui/schedules", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = DashboardServer.FormToken(page),
            ["name"] = "mf", ["workflow"] = "demo", ["cron"] = "0 3 * * *", ["misfire"] = misfire, ["enabled"] = "on",
        }));
        using var runOnce = await client.PostAsync("/ui/schedules", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = DashboardServer.FormToken(page),
            ["name"] = "mf-ok", ["workflow"] = "demo", ["cron"] = "0 3 * * *", ["misfire"] = "RunOnce", ["enabled"] = "on",
        }));
        var schedules = await server.NewApiClient().ListSchedulesAsync();

        Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
        Assert.Equal("misfire must be one of Skip, RunOnce", await ShownNoticeAsync(client, saved));
        Assert.DoesNotContain(schedules, s => s.Name == "mf");
        Assert.Equal("run_once", Assert.Single(schedules, s => s.Name == "mf-ok").Misfire);
    }

    [Fact]
    public async Task Responses_ContentSecurityPolicy_NoBaseElementNoPluginsScriptsFromTheDashboardOnly()
    {
        // Defence in depth beside the pages' escaping: default-src does not cover base-uri, so an injected <base href> could
        // have moved every relative script and form address elsewhere; object-src is said outright.
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        using var signIn = await client.GetAsync("/ui/signin");
        using var asset = await client.GetAsync("/ui/assets/dashboard.css");
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        using var runs = await client.GetAsync("/ui/runs");
        using var missing = await client.GetAsync("/ui/no-such-page");

        foreach (var response in new[] { signIn, asset, runs, missing })
        {
            var policy = string.Join(", ", response.Headers.GetValues("Content-Security-Policy"));
            var directives = policy.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("base-uri 'none'", directives);
            Assert.Contains("object-src 'none'", directives);
            Assert.Contains("script-src 'self'", directives);
            Assert.Contains("frame-ancestors 'none'", directives);
        }
    }

    [Fact]
    public async Task Pages_NotSignedIn_RedirectToSignInOr401()
    {
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        using var withHeaderKey = server.NewBrowserlessClient();
        withHeaderKey.DefaultRequestHeaders.Add("X-ADMIN-KEY", DashboardServer.AdminKey);

        using var runs = await client.GetAsync("/ui/runs?status=failed");
        using var live = await client.GetAsync("/ui/live/runs?ids=x");
        using var post = await client.PostAsync("/ui/runs/x/cancel", new FormUrlEncodedContent([]));
        // The API's header is not a dashboard session.
        using var header = await withHeaderKey.GetAsync("/ui/runs");

        Assert.Equal(HttpStatusCode.Redirect, runs.StatusCode);
        Assert.Equal("/ui/signin?returnUrl=%2Fui%2Fruns%3Fstatus%3Dfailed", runs.Headers.Location?.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, live.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, header.StatusCode);
    }

    [Fact]
    public async Task LiveRunStream_BadSince_Returns400WithTheRule()
    {
        await using var server = await DashboardServer.StartAsync();
        var runId = (await server.NewApiClient().StartAsync("demo", new { items = 3, delayMs = 1000 })).Run.Id;
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();

        using var tooLate = await client.GetAsync($"/ui/live/runs/{runId}?since=999999999999999999");
        using var negative = await client.GetAsync($"/ui/live/runs/{runId}?since=-1");
        using var notANumber = await client.GetAsync($"/ui/live/runs/{runId}?since=yesterday");

        Assert.Equal(HttpStatusCode.BadRequest, tooLate.StatusCode);
        Assert.Contains("Unix milliseconds", await tooLate.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, notANumber.StatusCode);
        // Before: the framework's JSON problem ("Failed to bind parameter"), not the rule.
        Assert.Contains("Unix milliseconds", await notANumber.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var badAfter = await client.GetAsync("/ui/apps/catalog-sync?after=abc");
        Assert.Equal(HttpStatusCode.BadRequest, badAfter.StatusCode);
        Assert.Equal("text/html", badAfter.Content.Headers.ContentType?.MediaType);
        Assert.Contains("is not a place in the dead-letter list", await badAfter.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task Pages_EveryPage_RendersAndNeverContainsTheAdminKey(Store store)
    {
        await using var server = await DashboardServer.StartAsync(store);
        var runId = (await server.NewApiClient().StartAsync("demo", new { items = 3, delayMs = 1 })).Run.Id;
        using var client = server.NewBrowserlessClient();
        var refusal = await (await DashboardServer.SignInAsync(client, "wrong")).Content.ReadAsStringAsync();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();

        var pages = new Dictionary<string, string> { ["refusal"] = refusal };
        foreach (var path in new[] { "/ui/signin", "/ui/runs", $"/ui/runs/{runId}", "/ui/schedules", "/ui/nodes", "/ui/apps/catalog-sync", "/ui/runs/nope" })
        {
            using var response = await client.GetAsync(path);
            pages[path] = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
        }

        Assert.All(pages, p => Assert.DoesNotContain(DashboardServer.AdminKey, p.Value, StringComparison.Ordinal));
        Assert.StartsWith("200 ", pages["/ui/runs"], StringComparison.Ordinal);
        Assert.Contains(runId, pages["/ui/runs"], StringComparison.Ordinal);
        Assert.StartsWith("200 ", pages[$"/ui/runs/{runId}"], StringComparison.Ordinal);
        Assert.StartsWith("200 ", pages["/ui/nodes"], StringComparison.Ordinal);
        // Each node's workflows with the versions it executes (before: names alone).
        Assert.Contains("demo v1", pages["/ui/nodes"], StringComparison.Ordinal);
        Assert.StartsWith("404 ", pages["/ui/runs/nope"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pages_Head_AnsweredAsTheirGetWithoutABody()
    {
        // A monitor's or a proxy's HEAD. Before: the pages were mapped for GET only, so a HEAD reached the catch-all: signed
        // out, the sign-in page and the stylesheet answered 401 "sign in first"; signed in, the runs page said 404 "There is
        // no page at /ui/runs".
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        var answers = new List<string>();
        async Task HeadAsync(string path)
        {
            using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
            answers.Add($"{path} {(int)response.StatusCode} {response.Content.Headers.ContentType?.MediaType} {response.Headers.Location} "
                + $"{response.Headers.Contains("Content-Security-Policy")} {(await response.Content.ReadAsByteArrayAsync()).Length}");
        }

        await HeadAsync("/ui/signin");
        await HeadAsync("/ui/assets/dashboard.css");
        await HeadAsync("/ui/runs");
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        await HeadAsync("/ui/runs");
        await HeadAsync("/ui/schedules");
        await HeadAsync("/ui/runs/no-such-run");
        await HeadAsync("/ui/no-such-page");

        Assert.Equal(
            [
                "/ui/signin 200 text/html  True 0",
                "/ui/assets/dashboard.css 200 text/css  True 0",
                "/ui/runs 302  /ui/signin?returnUrl=%2Fui%2Fruns True 0",
                "/ui/runs 200 text/html  True 0",
                "/ui/schedules 200 text/html  True 0",
                "/ui/runs/no-such-run 404 text/html  True 0",
                "/ui/no-such-page 404 text/html  True 0",
            ],
            answers);
    }

    [Fact]
    public async Task UnknownUiPath_SignedIn_DashboardsNotFoundPage()
    {
        // Before: the API's JSON 401 asking for the X-ADMIN-KEY header, which a browser cannot send.
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();

        using var response = await client.GetAsync("/ui/no-such-page");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("There is no page at /ui/no-such-page.", body, StringComparison.Ordinal);
        Assert.DoesNotContain("X-ADMIN-KEY", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunPage_InputWithNonAsciiMarkupAndARightToLeftOverride_ShownAsIsolatedTextNotAsEscapes()
    {
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        const string Group = "שלום 日本語 <b>x</b> \u202eRTL";
        var started = await server.NewApiClient().StartAsync("demo", new { items = 1, delayMs = 0, group = Group });

        var html = await client.GetStringAsync($"/ui/runs/{started.Run.Id}");
        var css = await client.GetStringAsync("/ui/assets/dashboard.css");

        // Before: the input box showed "\u05E9\u05DC..." and "\u003Cb\u003E". The page writes non-ASCII as character
        // references, which a browser shows as the characters.
        var shown = WebUtility.HtmlDecode(html);
        Assert.Contains("&lt;b&gt;x&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("\"group\": \"שלום 日本語 <b>x</b>", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u05E9", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\\u003C", html, StringComparison.OrdinalIgnoreCase);
        // The key sits in a <code> element, which the stylesheet isolates, so the override cannot reverse "(limit 1)".
        Assert.Contains("<code>demo:שלום 日本語 <b>x</b>", shown, StringComparison.Ordinal);
        Assert.Contains("code, pre, td, dd { unicode-bidi: isolate; overflow-wrap: anywhere; }", css, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunPage_OutputHoldingADeeplyNestedPayloadUnder256KiB_ShowsAtMost64KiOfItNotMegabytesOfIndentation()
    {
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var api = server.NewApiClient();
        var runId = (await api.StartAsync("demo", new { items = 1, delayMs = 0, waitFor = "go" })).Run.Id;
        // 61 nested arrays around 120,000 zeros: 240 KB of JSON, under the event payload limit (256 KiB) and the API's depth (64).
        const int Depth = 61;
        var payload = new System.Text.StringBuilder().Append('[', Depth).Append(string.Join(',', Enumerable.Repeat("0", 120_000))).Append(']', Depth).ToString();
        using (var document = System.Text.Json.JsonDocument.Parse(payload))
        {
            await api.SendEventAsync(runId, "go", document.RootElement);
        }

        Assert.Equal("succeeded", (await api.WaitAsync(runId).WaitAsync(TimeSpan.FromSeconds(60))).Status);
        using var response = await client.GetAsync($"/ui/runs/{runId}");
        var html = await response.Content.ReadAsStringAsync();

        // Before (a review): each zero on a line of its own, indented up to 124 spaces: a 15.7 MB page.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(html.Length < 2 * payload.Length, $"the run page is {html.Length:N0} characters for an output holding a payload of {payload.Length:N0}");
        Assert.Contains("more characters not shown (the API returns the whole value)", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunPage_RunWithManyEventsSent_ListsTheNewest500AndSaysHowManyThereAre()
    {
        await using var server = await DashboardServer.StartAsync();
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var api = server.NewApiClient();
        // The run waits for "go"; events of another name are stored and never taken.
        var runId = (await api.StartAsync("demo", new { items = 1, delayMs = 0, waitFor = "go" })).Run.Id;
        using (var empty = System.Text.Json.JsonDocument.Parse("{}"))
        {
            for (var i = 0; i < 520; i++)
            {
                await api.SendEventAsync(runId, "noise", empty.RootElement);
            }
        }

        var html = await client.GetStringAsync($"/ui/runs/{runId}");
        var section = System.Text.RegularExpressions.Regex.Match(html, "<section data-section=\"events\">(.*?)</section>", System.Text.RegularExpressions.RegexOptions.Singleline).Groups[1].Value;

        // Before (a review): every event was listed (700 rows for 700 events).
        Assert.Equal(500, System.Text.RegularExpressions.Regex.Count(section, "<tr><td>noise</td>"));
        Assert.Contains("The newest 500 of 520;", section, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunPage_StepWithManyAttempts_ListsTheFirst5AndLast20()
    {
        // The review gateway forwarding to a worker that refuses connections, 60 attempts 1 ms apart.
        var gatewayPort = Ports.Free();
        await using var server = await DashboardServer.StartAsync(extra: new Dictionary<string, string?>
        {
            ["Baton__Apps__ReviewGateway__Enabled"] = "true",
            ["PORT"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["WORKER_NODE_URL"] = $"http://127.0.0.1:{Ports.Free()}",
            ["Baton__Apps__ReviewGateway__MaxAttempts"] = "60",
            ["Baton__Apps__ReviewGateway__BaseDelay"] = "00:00:00.001",
            ["Baton__Apps__ReviewGateway__MaxDelay"] = "00:00:00.001",
        });
        using var gateway = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gatewayPort}"), Timeout = TimeSpan.FromSeconds(30) };
        using var enqueued = await gateway.PostAsync("/enqueue", new StringContent("""{"placeId":"place-1"}""", System.Text.Encoding.UTF8, "application/json"));
        var body = await enqueued.Content.ReadAsStringAsync();
        Assert.True(enqueued.StatusCode == HttpStatusCode.Accepted, body);
        var runId = System.Text.RegularExpressions.Regex.Match(body, "\"runId\"\\s*:\\s*\"([0-9a-f]{32})\"").Groups[1].Value;
        var run = await server.NewApiClient().WaitAsync(runId).WaitAsync(TimeSpan.FromSeconds(120));
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();

        var html = await client.GetStringAsync($"/ui/runs/{runId}");

        // 25 attempt rows and one for the 35 between. Before (a review): one row per attempt (600 for 600).
        Assert.Equal("failed", run.Status);
        Assert.Equal(26, System.Text.RegularExpressions.Regex.Count(html, "<tr class=\"attempt\">"));
        Assert.Contains("… 35 attempts not shown;", html, StringComparison.Ordinal);
        Assert.Contains("attempt 5</td>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("attempt 6</td>", html, StringComparison.Ordinal);
        Assert.Contains("attempt 41</td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduleDisable_WorkflowNotRegisteredOnThisNode_RefusedOnThePageNot500()
    {
        // A schedule of a workflow only other nodes have (here: written while the demo was on, read with it off). Before: 500.
        var database = Path.Combine(TestPaths.NewTempDirectory(), "baton.db");
        await using (var first = await DashboardServer.StartAsync(extra: new Dictionary<string, string?> { ["Baton__Store__Sqlite__Path"] = database }))
        {
            using var put = await first.NewBrowserlessClient().SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/schedules/orphan")
            {
                Headers = { { "X-ADMIN-KEY", DashboardServer.AdminKey } },
                Content = new StringContent("""{"workflow":"demo","cron":"0 3 * * *"}""", System.Text.Encoding.UTF8, "application/json"),
            });
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        await using var server = await DashboardServer.StartAsync(extra: new Dictionary<string, string?>
        {
            ["Baton__Store__Sqlite__Path"] = database, ["Baton__Demo__Enabled"] = "false",
        });
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var page = await client.GetStringAsync("/ui/schedules");

        using var disable = await client.PostAsync("/ui/schedules/orphan/disable", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = DashboardServer.FormToken(page),
        }));

        Assert.Equal(HttpStatusCode.Redirect, disable.StatusCode);
        Assert.StartsWith("refused: no workflow named 'demo' is registered", await ShownNoticeAsync(client, disable), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunControls_OnAFinishedRun_TheNoticeSaysWhyInWords()
    {
        // Before: the notice was the outcome's enum name ("AlreadyFinished", "NotRetryable") where the API explains.
        await using var server = await DashboardServer.StartAsync();
        var api = server.NewApiClient();
        var run = await api.StartAsync("demo", new { items = 1, delayMs = 0 });
        await api.WaitAsync(run.Run.Id).WaitAsync(TimeSpan.FromSeconds(60));
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var page = await client.GetStringAsync($"/ui/runs/{run.Run.Id}");
        var form = new Dictionary<string, string> { ["__RequestVerificationToken"] = DashboardServer.FormToken(page) };

        using var cancel = await client.PostAsync($"/ui/runs/{run.Run.Id}/cancel", new FormUrlEncodedContent(form));
        using var retry = await client.PostAsync($"/ui/runs/{run.Run.Id}/retry", new FormUrlEncodedContent(form));

        Assert.Equal(HttpStatusCode.Redirect, cancel.StatusCode);
        Assert.Equal("Not cancelled: the run is already succeeded; only active runs can be cancelled.", await ShownNoticeAsync(client, cancel));
        Assert.Equal("Not retried: the run is succeeded; only failed, cancelled or compensation_failed runs can be retried.", await ShownNoticeAsync(client, retry));
    }

    [Fact]
    public async Task Pages_NoticeNotWrittenByTheDashboard_ShowNone()
    {
        // Before: /ui/runs?message=<any text> showed that text as the dashboard's own notice (a link from elsewhere could
        // put words on the page). Notices now travel protected; a made-up, altered or old-style one shows nothing.
        await using var server = await DashboardServer.StartAsync();
        var api = server.NewApiClient();
        var run = await api.StartAsync("demo", new { items = 1, delayMs = 0 });
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var page = await client.GetStringAsync($"/ui/runs/{run.Run.Id}");
        using var cancel = await client.PostAsync($"/ui/runs/{run.Run.Id}/cancel", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = DashboardServer.FormToken(page) }));
        var location = cancel.Headers.Location!.OriginalString;
        var genuine = await ShownNoticeAsync(client, cancel);

        foreach (var path in new[]
        {
            "/ui/runs?message=Your+key+expired.+Call+555-0100", $"/ui/runs/{run.Run.Id}?message=Call+555-0100", "/ui/schedules?message=Call+555-0100",
            "/ui/runs?notice=Call+555-0100", location[..^4] + (location[^4..] == "AAAA" ? "BBBB" : "AAAA"),
        })
        {
            var html = await client.GetStringAsync(path);
            Assert.DoesNotContain("class=\"message\"", html, StringComparison.Ordinal);
        }

        Assert.Contains("ancel", genuine, StringComparison.Ordinal);
    }

    /// <summary>Follows an action's redirect and returns the notice the page shows (null: none).</summary>
    private static async Task<string?> ShownNoticeAsync(HttpClient client, HttpResponseMessage redirect)
    {
        var html = await client.GetStringAsync(redirect.Headers.Location!.OriginalString);
        var match = System.Text.RegularExpressions.Regex.Match(html, "<p class=\"message\">(.*?)</p>", System.Text.RegularExpressions.RegexOptions.Singleline);
        return match.Success ? WebUtility.HtmlDecode(match.Groups[1].Value) : null;
    }
}
