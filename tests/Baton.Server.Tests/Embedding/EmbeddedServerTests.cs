using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Baton.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.IdentityModel.Tokens;

namespace Baton.Server.Tests.Embedding;

/// <summary>Baton's API, auth and health inside an app of its own (<see cref="EmbeddedHost"/>), through Baton.AspNetCore's public methods.</summary>
public sealed class EmbeddedServerTests
{
    [Fact]
    public async Task Api_ValidBearerTokenWithoutAdminKey_IsAccepted()
    {
        await using var host = await EmbeddedHost.StartAsync();

        using var start = EmbeddedHost.Request(HttpMethod.Post, "/api/workflows/quick/runs", bearer: EmbeddedHost.Token());
        start.Content = InProcessServer.Json(new { n = 21 });
        using var started = await host.Client.SendAsync(start);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var id = (await InProcessServer.ReadJsonAsync(started)).GetProperty("id").GetString()!;

        using var list = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, $"/api/runs/{id}", bearer: EmbeddedHost.Token()));
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(id, (await InProcessServer.ReadJsonAsync(list)).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Api_AdminKeyBesideBearerScheme_IsStillAccepted()
    {
        await using var host = await EmbeddedHost.StartAsync();

        using var response = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, "/api/workflows", adminKey: EmbeddedHost.AdminKey));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("quick", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    public static TheoryData<string> BadTokens => new()
    {
        "not-a-jwt",
        "wrong-audience",
        "wrong-key",
        "expired",
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Api_BadBearerToken_Returns401AndStoresNothing(string kind)
    {
        await using var host = await EmbeddedHost.StartAsync();
        var token = kind switch
        {
            "wrong-audience" => EmbeddedHost.Token(audience: "someone-else"),
            "wrong-key" => EmbeddedHost.Token(key: new SymmetricSecurityKey("another-signing-key-of-the-same-length-0123456789"u8.ToArray())),
            "expired" => EmbeddedHost.Token(expires: DateTime.UtcNow.AddHours(-1)),
            _ => kind,
        };

        using var start = EmbeddedHost.Request(HttpMethod.Post, "/api/workflows/quick/runs", bearer: token);
        start.Content = InProcessServer.Json(new { n = 1 });
        using var response = await host.Client.SendAsync(start);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Equal("""{"error":"Unauthorized","detail":"send the admin key in the X-ADMIN-KEY header"}""", await response.Content.ReadAsStringAsync());
        using var runs = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, "/api/runs", adminKey: EmbeddedHost.AdminKey));
        Assert.Empty((await InProcessServer.ReadJsonAsync(runs)).GetProperty("runs").EnumerateArray());
    }

    [Fact]
    public async Task Api_WrongAdminKey_Returns401WithTheSeedBody()
    {
        await using var host = await EmbeddedHost.StartAsync();

        using var response = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, "/api/runs", adminKey: "wrong-key"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("""{"error":"Unauthorized","detail":"send the admin key in the X-ADMIN-KEY header"}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Api_BearerSchemeNotInPolicy_BearerRefusedAdminKeyAccepted()
    {
        await using var host = await EmbeddedHost.StartAsync(acceptBearer: false);

        using var bearer = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, "/api/runs", bearer: EmbeddedHost.Token()));
        using var key = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, "/api/runs", adminKey: EmbeddedHost.AdminKey));

        Assert.Equal(HttpStatusCode.Unauthorized, bearer.StatusCode);
        Assert.Equal(HttpStatusCode.OK, key.StatusCode);
    }

    [Fact]
    public async Task Api_BearerOnlyPolicyBadToken_Returns401ProblemDetails()
    {
        await using var host = await EmbeddedHost.StartAsync(adminKeyAccepted: false);

        using var bad = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, "/api/runs", bearer: "not-a-jwt"));
        using var key = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, "/api/runs", adminKey: EmbeddedHost.AdminKey));
        using var good = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, "/api/runs", bearer: EmbeddedHost.Token()));

        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        var problem = await InProcessServer.ReadJsonAsync(bad);
        Assert.Equal("urn:baton:problem:unauthorized", problem.GetProperty("type").GetString());
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, key.StatusCode);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    [Fact]
    public async Task Api_MountedUnderAPathBase_EveryLinkItHandsOutIsUnderThePathBase()
    {
        // Before: every link was /api/..., outside the prefix a host mounts the API under with UsePathBase.
        await using var host = await EmbeddedHost.StartAsync(pathBase: "/baton");
        var ids = new List<string>();
        for (var n = 1; n <= 2; n++)
        {
            using var start = EmbeddedHost.Request(HttpMethod.Post, "/baton/api/workflows/quick/runs", adminKey: EmbeddedHost.AdminKey);
            start.Content = InProcessServer.Json(new { n });
            using var started = await host.Client.SendAsync(start);
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            var id = (await InProcessServer.ReadJsonAsync(started)).GetProperty("id").GetString()!;
            Assert.Equal($"/baton/api/runs/{id}", started.Headers.Location?.OriginalString);
            var links = (await GetAsync(host, started.Headers.Location!.OriginalString)).GetProperty("links");
            Assert.Equal($"/baton/api/runs/{id}", links.GetProperty("self").GetString());
            Assert.Equal($"/baton/api/runs/{id}/cancel", links.GetProperty("cancel").GetString());
            ids.Add(id);
        }

        var first = await GetAsync(host, "/baton/api/runs?limit=1");
        var next = first.GetProperty("next").GetString()!;
        Assert.StartsWith("/baton/api/runs?limit=1&cursor=", next, StringComparison.Ordinal);
        var older = (await GetAsync(host, next)).GetProperty("runs").EnumerateArray().Single();
        Assert.Equal(ids[0], older.GetProperty("id").GetString());
        Assert.Equal(ids[0], (await GetAsync(host, older.GetProperty("links").GetProperty("self").GetString()!)).GetProperty("id").GetString());

        var quick = (await GetAsync(host, "/baton/api/workflows")).EnumerateArray().Single(w => w.GetProperty("name").GetString() == "quick");
        Assert.Equal("/baton/api/workflows/quick/runs", quick.GetProperty("startRuns").GetString());
        using var put = EmbeddedHost.Request(HttpMethod.Put, "/baton/api/schedules/nightly", adminKey: EmbeddedHost.AdminKey);
        put.Content = InProcessServer.Json("""{"workflow":"quick","cron":"0 2 * * *","input":{"n":1}}""");
        using var created = await host.Client.SendAsync(put);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/baton/api/schedules/nightly", created.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Docs_MountedUnderAPathBase_KeyCookieAndRedirectsStayUnderThePathBase()
    {
        // Before: the session cookie had path /docs, never sent to /baton/docs/ (401 right after signing in with ?key=),
        // and /baton/docs redirected to /docs/, outside the prefix.
        await using var host = await EmbeddedHost.StartAsync(pathBase: "/baton");
        using var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false };
        using var raw = new HttpClient(handler) { BaseAddress = host.Client.BaseAddress };

        using var signIn = await raw.GetAsync($"/baton/docs?key={EmbeddedHost.AdminKey}");
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/baton/docs/", signIn.Headers.Location?.OriginalString);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        Assert.Contains("path=/baton/docs", cookie, StringComparison.OrdinalIgnoreCase);

        using var page = new HttpRequestMessage(HttpMethod.Get, "/baton/docs/");
        page.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var pageResponse = await raw.SendAsync(page);
        Assert.Equal(HttpStatusCode.OK, pageResponse.StatusCode);
        using var bare = new HttpRequestMessage(HttpMethod.Get, "/baton/docs");
        bare.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var bareResponse = await raw.SendAsync(bare);
        Assert.Equal(HttpStatusCode.Redirect, bareResponse.StatusCode);
        Assert.Equal("/baton/docs/", bareResponse.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Dashboard_MountedUnderAPathBase_SignsInAndEveryLinkFormAndCookieStaysUnderThePathBase()
    {
        // Before: every redirect, link, form and cookie path of the dashboard was under /ui, outside the prefix: signing
        // in redirected off it, and the browser never sent the session or antiforgery cookie back to /baton/ui.
        await using var host = await EmbeddedHost.StartAsync(pathBase: "/baton");
        using var start = EmbeddedHost.Request(HttpMethod.Post, "/baton/api/workflows/awaiting/runs", adminKey: EmbeddedHost.AdminKey);
        start.Content = InProcessServer.Json(new { n = 1 });
        using var started = await host.Client.SendAsync(start);
        var id = (await InProcessServer.ReadJsonAsync(started)).GetProperty("id").GetString()!;
        // A browser's cookie jar: it sends a cookie back only to paths under the cookie's path.
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = host.Client.BaseAddress };

        using var signedOut = await browser.GetAsync("/baton/ui/runs");
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        Assert.Equal("/baton/ui/signin?returnUrl=%2Fbaton%2Fui%2Fruns", signedOut.Headers.Location?.OriginalString);
        var signInPage = await DashboardPageAsync(browser, signedOut.Headers.Location!.OriginalString);
        Assert.Contains("name=\"returnUrl\" value=\"/baton/ui/runs\"", signInPage, StringComparison.Ordinal);
        using var signIn = await PostFormAsync(browser, signInPage, "/baton/ui/signin", new() { ["key"] = EmbeddedHost.AdminKey, ["returnUrl"] = "/baton/ui/runs" });
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/baton/ui/runs", signIn.Headers.Location?.OriginalString);
        Assert.Contains(signIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("baton_ui=", StringComparison.Ordinal) && c.Contains("path=/baton/ui", StringComparison.OrdinalIgnoreCase));

        var runs = await DashboardPageAsync(browser, signIn.Headers.Location!.OriginalString);
        Assert.Contains($"href=\"/baton/ui/runs/{id}\"", runs, StringComparison.Ordinal);
        var run = await DashboardPageAsync(browser, $"/baton/ui/runs/{id}");
        Assert.Contains($"action=\"/baton/ui/runs/{id}/cancel\"", run, StringComparison.Ordinal);
        // The live updates' URL as dashboard.js builds it from data-dashboard-root: the session cookie reaches it.
        using (var live = await browser.GetAsync($"/baton/ui/live/runs/{id}", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            using var events = new StreamReader(await live.Content.ReadAsStreamAsync());
            Assert.StartsWith($"data: {{\"id\":\"{id}\"", await events.ReadLineAsync(), StringComparison.Ordinal);
        }

        using var cancel = await PostFormAsync(browser, run, $"/baton/ui/runs/{id}/cancel", []);
        Assert.Equal(HttpStatusCode.Redirect, cancel.StatusCode);
        Assert.StartsWith($"/baton/ui/runs/{id}?notice=", cancel.Headers.Location?.OriginalString, StringComparison.Ordinal);
        Assert.Contains("<p class=\"message\">Cancel", await DashboardPageAsync(browser, cancel.Headers.Location!.OriginalString), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostAntiforgery_BesideTheDashboard_HostPageKeepsXFrameOptionsSameOrigin()
    {
        // Before: AddBatonDashboard set SuppressXFrameOptionsHeader for the whole app, so the host's own page with a token
        // lost ASP.NET Core's clickjacking defence (no X-Frame-Options at all).
        await using var host = await EmbeddedHost.StartAsync();

        using var page = await host.Client.GetAsync("/account/form");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("SAMEORIGIN", Assert.Single(page.Headers.GetValues("X-Frame-Options")));
    }

    [Fact]
    public async Task HostAntiforgery_BesideTheDashboard_FormPostedOutsideUiIsAccepted()
    {
        // Before: the host's antiforgery cookie took the dashboard's path (/ui), so the browser never sent it back to
        // /account/form and the host's own form post failed its check (400).
        await using var host = await EmbeddedHost.StartAsync();
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = host.Client.BaseAddress };

        using var page = await browser.GetAsync("/account/form");
        using var post = await PostFormAsync(browser, await page.Content.ReadAsStringAsync(), "/account/form", []);

        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal(EmbeddedHost.FormSaved, await post.Content.ReadAsStringAsync());
        Assert.Contains("path=/;", Assert.Single(page.Headers.GetValues("Set-Cookie")) + ";", StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task HostAntiforgery_BesideTheDashboard_KeepsTheCookieNameTheHostChose()
    {
        // Before: AddBatonDashboard replaced the app's antiforgery cookie, so the host's was called baton_ui_af.
        await using var host = await EmbeddedHost.StartAsync(antiforgeryCookieName: "host_af");

        using var page = await host.Client.GetAsync("/account/form");

        Assert.StartsWith("host_af=", Assert.Single(page.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/baton")]
    public async Task Dashboard_BesideHostAntiforgery_KeepsItsOwnCookieFrameOptionsAndCheck(string pathBase)
    {
        // Before: under /baton the dashboard's antiforgery cookie was scoped to /baton (ASP.NET Core's token store writes the
        // path base over the builder's path), not to /baton/ui; and a token pair issued by the host's antiforgery passed the
        // dashboard's check, both being one IAntiforgery.
        await using var host = await EmbeddedHost.StartAsync(pathBase: pathBase.Length > 0 ? pathBase : null, antiforgeryCookieName: "host_af");
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = host.Client.BaseAddress };

        using var signInPage = await browser.GetAsync($"{pathBase}/ui/signin");
        Assert.Equal(HttpStatusCode.OK, signInPage.StatusCode);
        Assert.Equal("DENY", Assert.Single(signInPage.Headers.GetValues("X-Frame-Options")));
        var cookie = Assert.Single(signInPage.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("baton_ui_af=", cookie, StringComparison.Ordinal);
        Assert.Contains($"path={pathBase}/ui;", cookie + ";", StringComparison.OrdinalIgnoreCase);
        var html = await signInPage.Content.ReadAsStringAsync();

        // Without the page's token, and with a token pair the host's own antiforgery issued (its cookie's value sent under
        // the dashboard's cookie name): refused.
        using var forged = await browser.PostAsync($"{pathBase}/ui/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = EmbeddedHost.AdminKey }));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        using var hostPage = await host.Client.GetAsync($"{pathBase}/account/form");
        var hostCookie = Assert.Single(hostPage.Headers.GetValues("Set-Cookie")).Split(';')[0];
        using var crossed = new HttpRequestMessage(HttpMethod.Post, $"{pathBase}/ui/signin");
        crossed.Headers.Add("Cookie", "baton_ui_af=" + hostCookie[(hostCookie.IndexOf('=', StringComparison.Ordinal) + 1)..]);
        var hostToken = Regex.Match(await hostPage.Content.ReadAsStringAsync(), "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        crossed.Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = EmbeddedHost.AdminKey, ["__RequestVerificationToken"] = hostToken });
        using var noJarHandler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false };
        using var noJar = new HttpClient(noJarHandler) { BaseAddress = host.Client.BaseAddress };
        using var crossedResponse = await noJar.SendAsync(crossed);
        Assert.Equal(HttpStatusCode.BadRequest, crossedResponse.StatusCode);

        using var signIn = await PostFormAsync(browser, html, $"{pathBase}/ui/signin", new() { ["key"] = EmbeddedHost.AdminKey });
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal($"{pathBase}/ui/runs", signIn.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task HostRoute_RequiringAuthorizationWithTheHostsOnlyScheme_AuthenticatesAsWithoutBaton()
    {
        // Before: Baton's admin key scheme made two schemes, so the host's only scheme of its own (bearer) was no longer the
        // default: its RequireAuthorization() route answered 500 ("no DefaultChallengeScheme found"), even with a valid token.
        await using var host = await EmbeddedHost.StartAsync();

        using var signedIn = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, "/account/me", bearer: EmbeddedHost.Token()));
        using var anonymous = await host.Client.GetAsync("/account/me");

        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.Equal("signed in as ops-robot", await signedIn.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Bearer", Assert.Single(anonymous.Headers.WwwAuthenticate).Scheme);
    }

    [Fact]
    public async Task HostRoute_WithoutCredentials_IsLeftToTheHost()
    {
        await using var host = await EmbeddedHost.StartAsync();

        using var response = await host.Client.GetAsync("/hello");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hello from the host", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HostHealthChecks_IncludeBatonsCheck()
    {
        await using var host = await EmbeddedHost.StartAsync();

        using var ready = await host.Client.GetAsync("/ready");
        using var baton = await host.Client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, baton.StatusCode);
        var view = await InProcessServer.ReadJsonAsync(baton);
        Assert.Equal("ready", view.GetProperty("status").GetString());
        Assert.Equal("ok", view.GetProperty("store").GetProperty("status").GetString());
        Assert.True(view.GetProperty("worker").GetProperty("running").GetBoolean());
    }

    [Fact]
    public async Task HostHealthChecks_ReportHasBatonEntryWithStoreAndWorker()
    {
        await using var host = await EmbeddedHost.StartAsync();

        // The worker is a background service: on a loaded machine its loop may not have begun when StartAsync returns
        // (CI 2026-12-06: Unhealthy once). Asked again until it has, within 30 s; the report must then be healthy.
        var report = await Poll.UntilAsync(
            () => host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(),
            r => r.Entries["baton"].Status == HealthStatus.Healthy,
            "the baton health entry to be healthy",
            TimeSpan.FromSeconds(30));

        var baton = report.Entries["baton"];
        Assert.Equal(HealthStatus.Healthy, baton.Status);
        Assert.Equal("ok", baton.Data["store"]);
        Assert.Equal(true, baton.Data["workerRunning"]);
        Assert.Contains("baton", baton.Tags);
        Assert.True(report.Entries.ContainsKey("host-queue"));
    }

    [Fact]
    public async Task BatonHealth_HostsFailingCheckIsNotTaggedBaton_StaysReady()
    {
        await using var host = await EmbeddedHost.StartAsync(hostCheckHealthy: false);

        using var ready = await host.Client.GetAsync("/ready");
        using var baton = await host.Client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, baton.StatusCode);
        Assert.Equal("ready", (await InProcessServer.ReadJsonAsync(baton)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task HostOpenApi_BesideBaton_HostKeepsItsOwnDocumentAndBatonsIsAtOpenApiBaton()
    {
        // Before: Baton's document was ASP.NET Core's default "v1" too, on the same route: the host's /openapi/v1.json answered
        // 500 (two endpoints matched it), and Baton's transformers ran on the host's document.
        await using var host = await EmbeddedHost.StartAsync(hostOpenApi: true);

        using var response = await host.Client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var own = await InProcessServer.ReadJsonAsync(response);
        var baton = await GetAsync(host, "/openapi/baton.json");

        Assert.Contains("/hello", PathsOf(own));
        Assert.DoesNotContain("/api/runs", PathsOf(own));
        Assert.False(own.TryGetProperty("components", out var components) && components.TryGetProperty("securitySchemes", out _), own.ToString());
        Assert.Contains("/api/runs", PathsOf(baton));
        Assert.Contains("/health", PathsOf(baton));
        Assert.DoesNotContain("/hello", PathsOf(baton));
        Assert.True(baton.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("adminKey", out _));
    }

    [Fact]
    public async Task OpenApi_HostWithoutOpenApiOfItsOwn_BatonsDocumentAtV1AsOnTheServerAndAtBaton()
    {
        // Before: /openapi/baton.json was 404 (no document of that name).
        await using var host = await EmbeddedHost.StartAsync();

        var v1 = await GetAsync(host, "/openapi/v1.json");
        var baton = await GetAsync(host, "/openapi/baton.json");
        using var withoutKey = await host.Client.GetAsync("/openapi/v1.json");

        Assert.Contains("/api/runs", PathsOf(v1));
        Assert.Equal(PathsOf(v1), PathsOf(baton));
        Assert.True(v1.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("adminKey", out _));
        Assert.Equal(HttpStatusCode.Unauthorized, withoutKey.StatusCode);
    }

    [Fact]
    public async Task OpenApi_HostMapsOpenApiWithoutADocumentOfItsOwn_BatonsDocumentAtBothUrls()
    {
        // The host's MapOpenApi() ({documentName}.json) beside Baton's own routes, with no AddOpenApi() of the host: Baton's
        // literal routes win over the host's parameter route, so both URLs answer Baton's document, with the key.
        await using var host = await EmbeddedHost.StartAsync(hostMapsOpenApi: true);

        var v1 = await GetAsync(host, "/openapi/v1.json");
        var baton = await GetAsync(host, "/openapi/baton.json");
        using var withoutKey = await host.Client.GetAsync("/openapi/baton.json");

        Assert.Contains("/api/runs", PathsOf(v1));
        Assert.Equal(PathsOf(v1), PathsOf(baton));
        Assert.True(baton.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("adminKey", out _));
        Assert.Equal(HttpStatusCode.Unauthorized, withoutKey.StatusCode);
    }

    private static List<string> PathsOf(JsonElement document) => [.. document.GetProperty("paths").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task HostRoutes_UnreadableRequestOrTheirDatabaseBusy_AnsweredByTheHostsOwnExceptionHandler()
    {
        // Before: Baton's handlers, registered first, answered the host's own routes: an unreadable body was Baton's
        // 400 urn:baton:problem:bad-request, and the host's own database busy Baton's 503 store-unavailable with Baton's wording.
        await using var host = await EmbeddedHost.StartAsync();

        var (uploadStatus, upload) = await SendBadChunkAsync(host, "/account/upload");
        using var report = await host.Client.GetAsync(EmbeddedHost.HostDatabaseBusyPath);

        Assert.Equal(400, uploadStatus);
        Assert.Contains(EmbeddedHost.HostHandled + "BadHttpRequestException", upload, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InternalServerError, report.StatusCode);
        Assert.Equal(EmbeddedHost.HostHandled + "SqliteException", await report.Content.ReadAsStringAsync());
        Assert.False(report.Headers.Contains("Retry-After"));
    }

    [Fact]
    public async Task BatonRoutesAndStoreTimeoutRoutes_BesideTheHostsExceptionHandler_KeepBatonsProblems()
    {
        // Baton's own route keeps its problem for an unreadable body, and a host route that reads Baton's store
        // (WithStoreTimeout()) its 503 store-unavailable, though the host has an exception handler of its own.
        await using var host = await EmbeddedHost.StartAsync();

        var (status, body) = await SendBadChunkAsync(host, "/api/workflows/quick/runs");
        using var report = await host.Client.GetAsync(EmbeddedHost.StoreRouteBusyPath);

        Assert.Equal(400, status);
        Assert.Contains("\"type\":\"urn:baton:problem:bad-request\"", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, report.StatusCode);
        Assert.Equal("urn:baton:problem:store-unavailable", (await InProcessServer.ReadJsonAsync(report)).GetProperty("type").GetString());
        Assert.Equal("1", report.Headers.GetValues("Retry-After").Single());
    }

    /// <summary>
    /// POSTs to <paramref name="path"/> (with the admin key) a chunked body whose chunk size is not hex, which Kestrel refuses as
    /// the app reads it (<c>BadHttpRequestException</c>); returns the status and the whole answer.
    /// </summary>
    private static async Task<(int Status, string Answer)> SendBadChunkAsync(EmbeddedHost host, string path)
    {
        var address = host.Client.BaseAddress!;
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        var request = $"POST {path} HTTP/1.1\r\nHost: {address.Authority}\r\nX-ADMIN-KEY: {EmbeddedHost.AdminKey}\r\n"
            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = await reader.ReadToEndAsync(timeout.Token);
        var status = Regex.Match(answer, "^HTTP/1.1 (\\d{3})");
        Assert.True(status.Success, answer);
        return (int.Parse(status.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), answer);
    }

    /// <summary>GET <paramref name="path"/> with the admin key; it must answer 200.</summary>
    private static async Task<JsonElement> GetAsync(EmbeddedHost host, string path)
    {
        using var response = await host.Client.SendAsync(EmbeddedHost.Request(HttpMethod.Get, path, adminKey: EmbeddedHost.AdminKey));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await InProcessServer.ReadJsonAsync(response);
    }

    /// <summary>GET a dashboard page under <c>/baton</c>; it must answer 200, and every URL on it (links, forms, the assets, the live updates' root) must be under <c>/baton/ui/</c>.</summary>
    private static async Task<string> DashboardPageAsync(HttpClient browser, string path)
    {
        using var response = await browser.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        var urls = Regex.Matches(html, "(?:href|action|src)=\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(urls);
        Assert.All(urls, url => Assert.StartsWith("/baton/ui/", url, StringComparison.Ordinal));
        Assert.Contains("data-dashboard-root=\"/baton/ui\"", html, StringComparison.Ordinal);
        return html;
    }

    /// <summary>Posts <paramref name="fields"/> to <paramref name="action"/> with the antiforgery token of <paramref name="page"/>'s first form.</summary>
    private static Task<HttpResponseMessage> PostFormAsync(HttpClient browser, string page, string action, Dictionary<string, string> fields)
    {
        var token = Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        fields["__RequestVerificationToken"] = WebUtility.HtmlDecode(token);
        return browser.PostAsync(action, new FormUrlEncodedContent(fields));
    }
}
