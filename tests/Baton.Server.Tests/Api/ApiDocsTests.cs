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

    [Fact]
    public async Task Docs_QueryKey_Returns200NotCachedAndDocumentAndScriptLoadInTheBrowser()
    {
        using var response = await Server.Anonymous.GetAsync($"/docs?key={InProcessServer.AdminKey}");
        var html = await response.Content.ReadAsStringAsync();
        var script = System.Text.RegularExpressions.Regex.Match(html, "src=\"([^\"]+\\.js)\"").Groups[1].Value;
        using var document = await Server.Anonymous.GetAsync($"/docs/openapi/v1.json?key={InProcessServer.AdminKey}");
        using var scriptResponse = await Server.Anonymous.GetAsync(new Uri(new Uri(Server.BaseAddress, "/docs/"), script));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"docs/openapi/v1.json?key={InProcessServer.AdminKey}", html, StringComparison.Ordinal);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.True(scriptResponse.StatusCode == HttpStatusCode.OK, $"{script}: {scriptResponse.StatusCode}\n{html}");
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
