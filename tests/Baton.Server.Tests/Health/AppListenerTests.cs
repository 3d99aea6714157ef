using System.Globalization;
using System.Net;
using Baton.Server.Configuration;
using Baton.Server.Tests.Infrastructure;
using Baton.Server.Auth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Baton.Server.Tests.Health;

/// <summary>An app with its own listener: the same path means the app's route on its port and Baton's on the main one.</summary>
public sealed class AppListenerTests
{
    [Fact]
    public async Task Health_OnEachListener_AnswersThatListenersRoute()
    {
        var ownPort = Ports.Free();
        await using var server = await StartWithOwnListenerAsync(ownPort);
        using var own = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ownPort}") };

        var main = await InProcessServer.ReadJsonAsync(await server.Anonymous.GetAsync("/health"));
        var app = await InProcessServer.ReadJsonAsync(await own.GetAsync("/health"));
        using var ownOnlyOnMain = await server.Client.GetAsync("/own-only");
        using var ownOnlyOnOwn = await own.GetAsync("/own-only");
        using var apiOnOwn = await own.GetAsync("/api/workflows");
        using var apiOnMain = await server.Client.GetAsync("/api/workflows");

        Assert.Equal("ready", main.GetProperty("status").GetString());
        Assert.Equal("own-listener", app.GetProperty("service").GetString());
        Assert.Equal(HttpStatusCode.NotFound, ownOnlyOnMain.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ownOnlyOnOwn.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, apiOnOwn.StatusCode);
        Assert.Equal(HttpStatusCode.OK, apiOnMain.StatusCode);
    }

    [Fact]
    public async Task AllowWithoutAdminKeyFromRouting_OpenAppRoute_AnswersWithoutAuthenticationMiddleware()
    {
        var ownPort = Ports.Free();
        await using var server = await StartWithOwnListenerAsync(ownPort);
        using var own = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ownPort}") };

        var fast = await InProcessServer.ReadJsonAsync(await own.GetAsync("/own-fast"));
        var open = await InProcessServer.ReadJsonAsync(await own.GetAsync("/own-open"));
        using var wrongKey = new HttpRequestMessage(HttpMethod.Get, "/own-fast") { Headers = { { AdminKeyEndpointExtensions.HeaderName, "wrong" } } };
        using var fastWithWrongKey = await own.SendAsync(wrongKey);
        using var fastOnMain = await server.Client.GetAsync("/own-fast");

        Assert.False(fast.GetProperty("authenticationRan").GetBoolean());
        Assert.True(open.GetProperty("authenticationRan").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, fastWithWrongKey.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, fastOnMain.StatusCode);
    }

    private static Task<InProcessServer> StartWithOwnListenerAsync(int ownPort) => InProcessServer.StartAsync(
        new Dictionary<string, string> { ["Baton:Apps:OwnListener:Enabled"] = "true", ["OWN_PORT"] = ownPort.ToString(CultureInfo.InvariantCulture) },
        apps: [new OwnListenerApp()]);

    [Fact]
    public async Task MorePorts_EndpointOnAppPort_AnswersOnlyOnThatPort()
    {
        var ownPort = Ports.Free();
        var metricsPort = Ports.Free();
        await using var server = await InProcessServer.StartAsync(
            new Dictionary<string, string>
            {
                ["Baton:Apps:TwoPorts:Enabled"] = "true",
                ["OWN_PORT"] = ownPort.ToString(CultureInfo.InvariantCulture),
                ["METRICS_PORT"] = metricsPort.ToString(CultureInfo.InvariantCulture),
            },
            apps: [new TwoPortsApp()]);
        using var own = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ownPort}") };
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };

        using var healthOnOwn = await own.GetAsync("/health");
        using var healthOnMetrics = await metrics.GetAsync("/health");
        using var metricsOnMetrics = await metrics.GetAsync("/metrics");
        using var metricsOnOwn = await own.GetAsync("/metrics");
        var main = await InProcessServer.ReadJsonAsync(await server.Anonymous.GetAsync("/health"));

        Assert.Equal(HttpStatusCode.OK, healthOnOwn.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, healthOnMetrics.StatusCode); // what an unknown path gets there
        Assert.Equal("app metrics", await metricsOnMetrics.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, metricsOnOwn.StatusCode);
        Assert.Equal("ready", main.GetProperty("status").GetString());
    }

    [Fact]
    public void Build_AppPortInvalidOrClashing_RefusesNamingTheApp()
    {
        var store = $"--Baton:Store:Sqlite:Path={Path.Combine(TestPaths.NewTempDirectory(), "baton.db")}";
        var bad = Assert.Throws<OptionsValidationException>(() => BatonServer.Build(
            ["--environment=Production", "--ADMIN_KEY=k", "--Baton:Apps:OwnListener:Enabled=true", "--OWN_PORT=nope", store], [new OwnListenerApp()]));
        var clash = Assert.Throws<OptionsValidationException>(() => BatonServer.Build(
            ["--environment=Production", "--ADMIN_KEY=k", "--BATON_PORT=4555", "--Baton:Apps:OwnListener:Enabled=true", "--OWN_PORT=4555", store], [new OwnListenerApp()]));

        Assert.Contains("app OwnListener: OWN_PORT 'nope' is not a port number", bad.Message, StringComparison.Ordinal);
        Assert.Contains("app OwnListener: its own port 4555 is the main listener's port", clash.Message, StringComparison.Ordinal);
    }
}

/// <summary>An app with two ports of its own: <c>/health</c> on <c>OWN_PORT</c>, <c>/metrics</c> on <c>METRICS_PORT</c> (as seed 001).</summary>
internal sealed class TwoPortsApp : IBatonApp
{
    public string Name => "TwoPorts";

    public int? OwnPort(Microsoft.Extensions.Configuration.IConfiguration configuration) => int.Parse(configuration["OWN_PORT"]!, CultureInfo.InvariantCulture);

    public IReadOnlyList<int> MorePorts(Microsoft.Extensions.Configuration.IConfiguration configuration) => [MetricsPort(configuration)];

    public void ConfigureServices(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder, Baton.Hosting.BatonBuilder baton)
    {
    }

    public void MapEndpoints(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder endpoints)
    {
        var configuration = endpoints.ServiceProvider.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>();
        Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapGet(endpoints, "/health", () => "app health").AllowWithoutAdminKey();
        Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapGet(endpoints, "/metrics", () => "app metrics").AllowWithoutAdminKey().OnAppPort(MetricsPort(configuration));
    }

    private static int MetricsPort(Microsoft.Extensions.Configuration.IConfiguration configuration) => int.Parse(configuration["METRICS_PORT"]!, CultureInfo.InvariantCulture);
}
