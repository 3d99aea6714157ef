using System.Net;
using Baton.Server.Auth;
using Baton.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Server.Tests.Auth;

public sealed class AdminKeyEndpointTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private InProcessServer Server => fixture.Server;

    [Theory]
    [InlineData("GET", "/api/runs", null)]
    [InlineData("GET", "/api/runs", "wrong-key")]
    [InlineData("GET", "/api/runs", InProcessServer.AdminKey + "x")]
    [InlineData("GET", "/api/runs", "TEST-ADMIN-KEY-5B1D9E7C2A8F4E60")]
    [InlineData("GET", "/api/workflows", "")]
    [InlineData("POST", "/api/workflows/demo/runs", null)]
    [InlineData("GET", "/api/schedules", "test-admin-key")]
    [InlineData("PUT", "/api/schedules/x", null)]
    [InlineData("GET", "/openapi/v1.json", null)]
    [InlineData("GET", "/no-such-route", null)]
    [InlineData("GET", "/probe-status", null)]
    public async Task Request_MissingOrWrongKey_Returns401NamingTheHeader(string method, string path, string? key)
    {
        using var client = Server.NewClient(key);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
        {
            request.Content = InProcessServer.Json("{}");
        }

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("""{"error":"Unauthorized","detail":"send the admin key in the X-ADMIN-KEY header"}""", await response.Content.ReadAsStringAsync());
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task StartRun_WithoutKey_StoresNothing()
    {
        using var response = await Server.Anonymous.PostAsync("/api/workflows/quick/runs", InProcessServer.Json("""{"n":999}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        using var runs = await Server.Client.GetAsync("/api/runs?workflow=quick&limit=500");
        var body = await InProcessServer.ReadJsonAsync(runs);
        Assert.DoesNotContain(body.GetProperty("runs").EnumerateArray(), r => Server.GetRunAsync(r.GetProperty("id").GetString()!).Result.GetProperty("input").GetProperty("n").GetInt32() == 999);
    }

    [Theory]
    [InlineData("GET", "/healthz")]
    [InlineData("HEAD", "/healthz")]
    [InlineData("GET", "/health")]
    [InlineData("GET", "/metrics")]
    public async Task Probe_WithoutKey_IsAllowed(string method, string path)
    {
        using var response = await Server.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(method == "HEAD" ? "" : await response.Content.ReadAsStringAsync(), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task QueryKeyEndpoint_WrongKey_Returns401NamingHeaderAndQueryParameter()
    {
        using var response = await Server.Anonymous.GetAsync("/probe-sync?key=wrong");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(
            """{"error":"Unauthorized","detail":"send the admin key in the X-ADMIN-KEY header or the key query parameter"}""",
            await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task QueryKey_OnOptedInEndpoint_IsAccepted()
    {
        using var ok = await Server.Anonymous.GetAsync($"/probe-sync?key={InProcessServer.AdminKey}");
        using var wrong = await Server.Anonymous.GetAsync("/probe-sync?key=nope");
        using var header = await Server.Client.GetAsync("/probe-sync");

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, header.StatusCode);
    }

    [Fact]
    public async Task QueryKey_OnApiEndpoint_IsRefused()
    {
        using var response = await Server.Anonymous.GetAsync($"/api/runs?key={InProcessServer.AdminKey}");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AuthenticationSchemes_AdminKeyOnly_NoDefaultSchemeSoOnlyProtectedEndpointsAuthenticate()
    {
        // With a default scheme, UseAuthentication would run the admin-key handler on every request (probes, the gateway's
        // routes); the policy names its schemes itself, so protected endpoints still authenticate (the 401 tests above).
        var schemes = Server.Services.GetRequiredService<Microsoft.AspNetCore.Authentication.IAuthenticationSchemeProvider>();

        Assert.Null(await schemes.GetDefaultAuthenticateSchemeAsync());
        Assert.NotNull(await schemes.GetSchemeAsync(BatonAuthorization.AdminKeyScheme));
    }

    [Fact]
    public async Task UnknownRoute_WithKey_Returns404()
    {
        using var response = await Server.Client.GetAsync("/no-such-route");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}

public sealed class MetricsKeySettingTests
{
    [Fact]
    public async Task Metrics_RequireAdminKeySetting_Needs401WithoutKey()
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string> { ["Baton:Metrics:RequireAdminKey"] = "true" });

        using var anonymous = await server.Anonymous.GetAsync("/metrics");
        using var keyed = await server.Client.GetAsync("/metrics");
        using var health = await server.Anonymous.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, keyed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
