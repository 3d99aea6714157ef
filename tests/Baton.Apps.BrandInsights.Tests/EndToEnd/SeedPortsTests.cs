using System.Net;
using System.Text.Json;
using Baton.Apps.BrandInsights.Tests.Infrastructure;

namespace Baton.Apps.BrandInsights.Tests.EndToEnd;

/// <summary>The seed's two Fastify ports: an unknown route is Fastify's 404 (not the server's 401), and HEAD answers as GET does.</summary>
public sealed class SeedPortsTests : PrivateRedisTests
{
    [Fact]
    public async Task UnknownRoutesAndHead_OnBothSeedPorts_FastifysAnswers()
    {
        await using var server = await BrandServer.StartAsync(BrandServer.Environment(Redis.Url, BrandServer.NewDirectory(), "orchestrator-ports"));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, int port, string path)
        {
            using var response = await client.SendAsync(new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{port}{path}")));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        // Before: 401 "send the admin key in the X-ADMIN-KEY header" for each of these.
        var nope = await SendAsync(HttpMethod.Get, server.HttpPort, "/nope?x=1");
        var metricsOnHttp = await SendAsync(HttpMethod.Get, server.HttpPort, "/metrics");
        var healthOnPrometheus = await SendAsync(HttpMethod.Get, server.PrometheusPort, "/health");
        var headHealth = await SendAsync(HttpMethod.Head, server.HttpPort, "/health");
        var headMetrics = await SendAsync(HttpMethod.Head, server.PrometheusPort, "/metrics");

        Assert.Equal(HttpStatusCode.NotFound, nope.Status);
        var body = JsonDocument.Parse(nope.Body).RootElement;
        Assert.Equal("Route GET:/nope?x=1 not found", body.GetProperty("message").GetString());
        Assert.Equal("Not Found", body.GetProperty("error").GetString());
        Assert.Equal(404, body.GetProperty("statusCode").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, metricsOnHttp.Status);
        Assert.Equal(HttpStatusCode.NotFound, healthOnPrometheus.Status);
        Assert.Equal((HttpStatusCode.OK, ""), headHealth);
        Assert.Equal((HttpStatusCode.OK, ""), headMetrics);
    }
}
