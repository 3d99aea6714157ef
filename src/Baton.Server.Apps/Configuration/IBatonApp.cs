using Baton.Hosting;
using Microsoft.AspNetCore.Builder;

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

    /// <summary>Registers the app's services and workflows.</summary>
    void ConfigureServices(WebApplicationBuilder builder, BatonBuilder baton);

    /// <summary>Maps the app's endpoints on the main listener.</summary>
    void MapEndpoints(WebApplication app);
}
