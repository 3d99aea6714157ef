using System.Net;
using System.Text.Json;
using Baton.Server.Tests.Infrastructure;

namespace Baton.Server.Tests.Api;

/// <summary>The OpenAPI UI at /docs (Scalar) behind the admin key, and the examples and schemas of the OpenAPI document.</summary>
public sealed class ApiDocsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private InProcessServer Server => fixture.Server;

    [Fact]
    public async Task Docs_WithoutKey_Returns401()
    {
        using var response = await Server.Anonymous.GetAsync("/docs");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Docs_WrongQueryKey_Returns401()
    {
        using var response = await Server.Anonymous.GetAsync("/docs?key=wrong");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Docs_HeaderKey_Returns200ScalarPage()
    {
        using var response = await Server.Client.GetAsync("/docs");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.True(html.Contains("docs/openapi/v1.json", StringComparison.Ordinal), html);
        Assert.DoesNotContain("cdn.jsdelivr.net", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/DOCS")]
    [InlineData("/Docs/")]
    public async Task Docs_QueryKeyOnThePathInAnotherCase_RedirectsToTheCookiesPathAndThePageLoads(string path)
    {
        // Before: the redirect kept the case as asked, the cookie's path was /docs, and the browser never sent it: 401.
        using var browser = new HttpClient(new SocketsHttpHandler { CookieContainer = new System.Net.CookieContainer() }) { BaseAddress = Server.BaseAddress };
        using var page = await browser.GetAsync($"{path}?key={InProcessServer.AdminKey}");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("/docs/", page.RequestMessage!.RequestUri!.AbsolutePath);
    }

    [Fact]
    public async Task Docs_QueryKey_TradedForSessionCookieAndKeyNeverInThePage()
    {
        // A browser of its own: follows redirects and keeps cookies, like the one a user opens /docs?key= in.
        using var browser = new HttpClient(new SocketsHttpHandler { CookieContainer = new System.Net.CookieContainer() }) { BaseAddress = Server.BaseAddress };
        using var first = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/docs?key={InProcessServer.AdminKey}"));
        var html = await first.Content.ReadAsStringAsync();
        var script = System.Text.RegularExpressions.Regex.Match(html, "src=\"([^\"]+\\.js)\"").Groups[1].Value;
        using var document = await browser.GetAsync("/docs/openapi/v1.json");
        using var scriptResponse = await browser.GetAsync(new Uri(new Uri(Server.BaseAddress, "/docs/"), script));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("/docs/", first.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.Empty(first.RequestMessage.RequestUri.Query);
        Assert.DoesNotContain(InProcessServer.AdminKey, html, StringComparison.Ordinal);
        Assert.Contains("docs/openapi/v1.json", html, StringComparison.Ordinal);
        Assert.Equal("no-store", first.Headers.CacheControl?.ToString());
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.True(scriptResponse.StatusCode == HttpStatusCode.OK, $"{script}: {scriptResponse.StatusCode}\n{html}");
    }

    [Fact]
    public async Task Docs_QueryKey_SetsHttpOnlyStrictCookieScopedToDocsNotHoldingTheKey()
    {
        // The first answer itself, not followed: its Set-Cookie.
        using var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false };
        using var raw = new HttpClient(handler) { BaseAddress = Server.BaseAddress };
        using var redirect = await raw.GetAsync($"/docs?key={InProcessServer.AdminKey}");
        var cookie = Assert.Single(redirect.Headers.GetValues("Set-Cookie"));

        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        // Straight to the page (before: to /docs, which redirected once more to /docs/).
        Assert.Equal("/docs/", redirect.Headers.Location?.OriginalString);
        Assert.StartsWith("baton-docs=", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/docs", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(InProcessServer.AdminKey, cookie, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/docs/%C3%A9", "/docs/%C3%A9")]
    [InlineData("/docs/%0d%0a", "/docs/%0D%0A")]
    [InlineData("/docs/a%20b", "/docs/a%20b")]
    public async Task Docs_QueryKeyOnAPathWithEscapedCharacters_RedirectsToThatPathEscaped(string path, string location)
    {
        // Before: the decoded path went into Location as it was, and Kestrel answered 500 for anything not ASCII.
        using var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false };
        using var raw = new HttpClient(handler) { BaseAddress = Server.BaseAddress };
        using var redirect = await raw.GetAsync($"{path}?key={InProcessServer.AdminKey}");

        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal(location, redirect.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Docs_ForgedCookie_Returns401()
    {
        using var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false };
        using var raw = new HttpClient(handler) { BaseAddress = Server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/docs/openapi/v1.json");
        request.Headers.Add("Cookie", "baton-docs=" + InProcessServer.AdminKey);
        using var response = await raw.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task OpenApiDocument_EveryApiOperation_HasRequestAndResponseSchemasAndExamples()
    {
        using var response = await Server.Client.GetAsync("/openapi/v1.json");
        var document = await InProcessServer.ReadJsonAsync(response);
        var problems = new List<string>();
        var operations = 0;

        foreach (var path in document.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal)))
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name is "get" or "post" or "put" or "delete"))
            {
                operations++;
                var name = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                var hasBody = operation.Value.TryGetProperty("requestBody", out var body);
                if (operation.Name is "put" || (operation.Name is "post" && !path.Name.EndsWith("/cancel", StringComparison.Ordinal) && !path.Name.EndsWith("/retry", StringComparison.Ordinal)))
                {
                    if (!hasBody)
                    {
                        problems.Add($"{name}: no request body");
                    }
                }

                if (hasBody)
                {
                    foreach (var media in body.GetProperty("content").EnumerateObject())
                    {
                        CheckMedia($"{name} request {media.Name}", media.Value, problems);
                    }
                }

                var responses = operation.Value.GetProperty("responses").EnumerateObject().ToList();
                if (!responses.Any(r => r.Name.StartsWith('2')))
                {
                    problems.Add($"{name}: no success response");
                }

                var withContent = 0;
                foreach (var answer in responses)
                {
                    if (!answer.Value.TryGetProperty("content", out var content))
                    {
                        continue;
                    }

                    foreach (var media in content.EnumerateObject())
                    {
                        withContent++;
                        CheckMedia($"{name} {answer.Name} {media.Name}", media.Value, problems);
                    }
                }

                if (withContent == 0)
                {
                    problems.Add($"{name}: no response with a schema");
                }
            }
        }

        Assert.True(operations >= 11, $"only {operations} /api operations");
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task OpenApiDocument_EveryApiOperation_NeedsTheAdminKeySchemeAndDocuments401()
    {
        // Before: no security scheme and no 401, so generated clients had no way to send the key and /docs no field for it.
        using var response = await Server.Client.GetAsync("/openapi/v1.json");
        var document = await InProcessServer.ReadJsonAsync(response);

        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("adminKey");
        Assert.Equal("apiKey", scheme.GetProperty("type").GetString());
        Assert.Equal("header", scheme.GetProperty("in").GetString());
        Assert.Equal("X-ADMIN-KEY", scheme.GetProperty("name").GetString());
        var operations = document.GetProperty("paths").EnumerateObject()
            .Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal))
            .SelectMany(p => p.Value.EnumerateObject().Where(o => o.Name is "get" or "post" or "put" or "delete").Select(o => (Name: $"{o.Name} {p.Name}", Operation: o.Value)))
            .ToList();
        Assert.True(operations.Count >= 11);
        Assert.All(operations, o =>
        {
            Assert.True(o.Operation.TryGetProperty("security", out var security), $"{o.Name}: no security");
            Assert.True(security[0].TryGetProperty("adminKey", out _), $"{o.Name}: {security}");
            Assert.True(o.Operation.GetProperty("responses").TryGetProperty("401", out _), $"{o.Name}: no 401");
        });
        // /health needs no key, and says so (an empty requirement list).
        Assert.Equal(0, document.GetProperty("paths").GetProperty("/health").GetProperty("get").GetProperty("security").GetArrayLength());
    }

    [Fact]
    public async Task OpenApiDocument_ListRunsQueryParametersAndIdempotencyKeyHeaders_AreDocumented()
    {
        // Before: GET /api/runs read its filters by hand and documented none, so a generated client refused them.
        using var response = await Server.Client.GetAsync("/openapi/v1.json");
        var paths = (await InProcessServer.ReadJsonAsync(response)).GetProperty("paths");

        var list = Parameters(paths.GetProperty("/api/runs").GetProperty("get"));
        Assert.Equal(["workflow", "status", "createdAfter", "createdBefore", "parentRunId", "limit", "cursor"], list.Where(p => p.In == "query").Select(p => p.Name));
        var status = paths.GetProperty("/api/runs").GetProperty("get").GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "status");
        Assert.Contains("compensation_failed", status.GetProperty("schema").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains(("Idempotency-Key", "header"), Parameters(paths.GetProperty("/api/workflows/{name}/runs").GetProperty("post")));
        Assert.Contains(("Idempotency-Key", "header"), Parameters(paths.GetProperty("/api/runs/{id}/events/{name}").GetProperty("post")));

        static List<(string Name, string In)> Parameters(JsonElement operation) =>
            [.. operation.GetProperty("parameters").EnumerateArray().Select(p => (p.GetProperty("name").GetString()!, p.GetProperty("in").GetString()!))];
    }

    [Fact]
    public async Task OpenApiDocument_401AsTheServerSendsItAndNoNullableOneOf()
    {
        // Before: 401 documented only as problem+json (the server sends {error, detail} as application/json), and nullable
        // values as oneOf [null, {}], which null matches twice: a validating client refused every run with a null output.
        using var response = await Server.Client.GetAsync("/openapi/v1.json");
        var document = await InProcessServer.ReadJsonAsync(response);
        using var refused = await Server.Anonymous.GetAsync("/api/runs");
        var body = await InProcessServer.ReadJsonAsync(refused);

        var unauthorized = document.GetProperty("paths").GetProperty("/api/runs").GetProperty("get").GetProperty("responses").GetProperty("401").GetProperty("content");
        var json = unauthorized.GetProperty("application/json");
        Assert.Equal("application/json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["detail", "error"], json.GetProperty("schema").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(["detail", "error"], body.EnumerateObject().Select(p => p.Name).Order());
        var text = document.GetRawText();
        Assert.DoesNotContain("\"oneOf\":[{\"type\":\"null\"}", text.Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        var input = document.GetProperty("components").GetProperty("schemas").GetProperty("RunView").GetProperty("properties").GetProperty("input");
        Assert.Equal(2, input.GetProperty("anyOf").GetArrayLength());
    }

    private static void CheckMedia(string where, JsonElement media, List<string> problems)
    {
        if (!media.TryGetProperty("schema", out _))
        {
            problems.Add($"{where}: no schema");
        }

        if (!media.TryGetProperty("example", out _) && !media.TryGetProperty("examples", out _))
        {
            problems.Add($"{where}: no example");
        }
    }
}
