using System.Globalization;
using Microsoft.AspNetCore.Routing.Matching;

namespace Baton.Server.Configuration;

/// <summary>Marks an app endpoint that answers only on the app's own listener.</summary>
internal sealed record AppListenerMetadata(int Port);

/// <summary>
/// The apps that listen on a port of their own (<see cref="IBatonApp.OwnPort"/>). Kestrel listens on
/// each of these ports on the main listener's host; <see cref="ListenerMatcherPolicy"/> keeps every
/// app's routes on its port and Baton's routes off those ports, so one path (<c>/health</c>) can mean
/// different things on the two listeners.
/// </summary>
internal sealed class AppListeners
{
    private readonly Dictionary<IBatonApp, int> _ports;
    private readonly Dictionary<int, IBatonApp> _owners;

    private AppListeners(Dictionary<IBatonApp, int> ports, Dictionary<int, IBatonApp> owners, IReadOnlyList<string> urls)
    {
        _ports = ports;
        _owners = owners;
        Urls = urls;
        Ports = owners.Keys.ToHashSet();
    }

    public IReadOnlySet<int> Ports { get; }

    public IReadOnlyList<string> Urls { get; }

    public int? PortOf(IBatonApp app) => _ports.TryGetValue(app, out var port) ? port : null;

    /// <summary>The settings that chose <paramref name="port"/> if it is an app's (<see cref="IBatonApp.PortSettings"/>), else null.</summary>
    public string? SettingsOf(int port) => _owners.TryGetValue(port, out var app) ? app.PortSettings : null;

    /// <summary>Listens on <paramref name="port"/> of <paramref name="host"/> (an address, <c>localhost</c>, or <c>0.0.0.0</c> for every interface).</summary>
    public static void Listen(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, string host, int port)
    {
        if (host is "0.0.0.0" or "*" or "+")
        {
            kestrel.ListenAnyIP(port);
        }
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(port);
        }
        else
        {
            kestrel.Listen(System.Net.IPAddress.Parse(host.Trim('[', ']')), port);
        }
    }

    /// <summary>The apps' own listeners; a bad or clashing port is added to <paramref name="errors"/> and that app gets none.</summary>
    public static AppListeners Resolve(IReadOnlyList<IBatonApp> apps, IConfiguration configuration, BatonServerOptions options, List<string> errors)
    {
        var ports = new Dictionary<IBatonApp, int>();
        var owners = new Dictionary<int, IBatonApp>();
        foreach (var app in apps)
        {
            int? port;
            IReadOnlyList<int> more;
            try
            {
                port = app.OwnPort(configuration);
                more = app.MorePorts(configuration);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                errors.Add($"app {app.Name}: {ex.Message}");
                continue;
            }

            if (port is null)
            {
                if (more.Count > 0)
                {
                    errors.Add($"app {app.Name}: further ports need an own port");
                }

                continue;
            }

            if (Claim(app, port.Value, options, owners, errors))
            {
                ports[app] = port.Value;
                foreach (var extra in more)
                {
                    Claim(app, extra, options, owners, errors);
                }
            }
        }

        var host = options.Host.Contains(':', StringComparison.Ordinal) ? $"[{options.Host}]" : options.Host;
        var urls = owners.Keys.Select(p => string.Create(CultureInfo.InvariantCulture, $"http://{host}:{p}")).ToList();
        return new AppListeners(ports, owners, urls);
    }

    private static bool Claim(IBatonApp app, int port, BatonServerOptions options, Dictionary<int, IBatonApp> owners, List<string> errors)
    {
        if (port is < 1 or > 65535)
        {
            errors.Add($"app {app.Name}: its own port {port} is not a port number (1-65535)");
        }
        else if (options.Urls is null && port == options.Port)
        {
            errors.Add($"app {app.Name}: its own port {port} is the main listener's port; choose another one");
        }
        else if (owners.TryGetValue(port, out var other))
        {
            errors.Add(other == app ? $"app {app.Name}: its own port {port} is given twice" : $"app {app.Name}: its own port {port} is already used by app {other.Name}");
        }
        else
        {
            owners[port] = app;
            return true;
        }

        return false;
    }
}

/// <summary>
/// Chooses endpoints by the local port the request came in on (not the Host header, which a client
/// chooses): an app endpoint with <see cref="AppListenerMetadata"/> answers only on its port, every
/// other endpoint only off the app ports. A request that matches nothing on its listener gets what an
/// unknown path gets.
/// </summary>
internal sealed class ListenerMatcherPolicy(AppListeners listeners) : MatcherPolicy, IEndpointSelectorPolicy
{
    public override int Order => 0;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => listeners.Ports.Count > 0;

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var local = httpContext.Connection.LocalPort;
        var onAppPort = listeners.Ports.Contains(local);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i))
            {
                continue;
            }

            var metadata = candidates[i].Endpoint.Metadata;
            // An endpoint's own OnAppPort choice wins over the app's listener (the group it was mapped in).
            var port = metadata.GetMetadata<AppPortMetadata>()?.Port ?? metadata.GetMetadata<AppListenerMetadata>()?.Port;
            var valid = port is null ? !onAppPort : port == local;
            if (!valid)
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }
}
