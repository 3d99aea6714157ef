using Baton.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;

namespace Baton.Server.Configuration;

/// <summary>
/// A seed app packaged for the server: its workflows, services and HTTP surface. An app is switched on
/// with <c>Baton:Apps:&lt;Name&gt;:Enabled = true</c>; apps that are not switched on are neither
/// registered nor mapped. Routes an app maps go through the same admin-key check as the API (opt out
/// per endpoint with <c>AllowWithoutAdminKey()</c>, or accept <c>?key=</c> with
/// <c>RequireAdminKey(allowQueryKey: true)</c>).
/// </summary>
public interface IBatonApp
{
    /// <summary>The name used in configuration (<c>Baton:Apps:&lt;Name&gt;</c>).</summary>
    string Name { get; }

    /// <summary>
    /// The port of the app's own listener, for a seed whose paths clash with Baton's (seed 002's
    /// <c>/health</c>), or null to share the main listener. The default is null. When set, the server
    /// listens on this port on the same host as the main listener, the app's endpoints answer only
    /// there, and Baton's own routes answer only on the main listener. Throw
    /// <see cref="ArgumentException"/> for a bad value; the server refuses to start with its message.
    /// </summary>
    int? OwnPort(IConfiguration configuration) => null;

    /// <summary>
    /// Further ports of the app's own, beside <see cref="OwnPort"/> (which they need), for a seed that listens on
    /// several (seed 001's <c>HTTP_PORT</c> and <c>PROMETHEUS_PORT</c>). The server listens on each; an endpoint
    /// mapped with <see cref="AppPortEndpointExtensions.OnAppPort{TBuilder}"/> answers only on its port, the app's
    /// other endpoints on <see cref="OwnPort"/>. The default is none. Throw <see cref="ArgumentException"/> for a bad value.
    /// </summary>
    IReadOnlyList<int> MorePorts(IConfiguration configuration) => [];

    /// <summary>
    /// The settings that choose <see cref="OwnPort"/> and <see cref="MorePorts"/>, named when one of those ports is taken
    /// (seed 001's <c>HTTP_PORT or PROMETHEUS_PORT</c>). The default names the app.
    /// </summary>
    string PortSettings => $"the {Name} app's port settings";

    /// <summary>Registers the app's services and workflows.</summary>
    void ConfigureServices(WebApplicationBuilder builder, BatonBuilder baton);

    /// <summary>Maps the app's endpoints (on its own listener when <see cref="OwnPort"/> gives one, else on the main one).</summary>
    void MapEndpoints(IEndpointRouteBuilder endpoints);
}
