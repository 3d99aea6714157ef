using System.Globalization;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.AspNetCore.Routing.Template;

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
/// unknown path gets, or a 405 naming the methods the path takes there.
/// </summary>
internal sealed class ListenerMatcherPolicy(AppListeners listeners) : MatcherPolicy, IEndpointSelectorPolicy
{
    private volatile IReadOnlyList<(TemplateMatcher Matcher, IReadOnlyList<string> Methods)>? _mainRoutes;

    public override int Order => 0;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => listeners.Ports.Count > 0;

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var local = httpContext.Connection.LocalPort;
        var onAppPort = listeners.Ports.Contains(local);
        var ruledOut = -1;
        var anyValid = false;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i))
            {
                continue;
            }

            if (Answers(candidates[i].Endpoint, local, onAppPort))
            {
                anyValid = true;
            }
            else
            {
                candidates.SetValidity(i, false);
                ruledOut = i;
            }
        }

        // An app's fallback (any method, any path) is a candidate for every request, so routing makes no 405 of its own for
        // a main-listener path asked with a method it does not take; once the fallback is ruled out here, that request
        // would be a 404. It gets the 405 routing gives without an app listener (before: 404 "no route matches DELETE /api/runs").
        if (!anyValid && ruledOut >= 0 && !onAppPort && AllowedOnMainListener(httpContext) is { Count: > 0 } allowed)
        {
            candidates.ReplaceEndpoint(ruledOut, MethodNotAllowed(allowed), null);
            candidates.SetValidity(ruledOut, true);
        }

        return Task.CompletedTask;
    }

    private static bool Answers(Endpoint endpoint, int local, bool onAppPort)
    {
        var metadata = endpoint.Metadata;
        // An endpoint's own OnAppPort choice wins over the app's listener (the group it was mapped in).
        var port = metadata.GetMetadata<AppPortMetadata>()?.Port ?? metadata.GetMetadata<AppListenerMetadata>()?.Port;
        return port is null ? !onAppPort : port == local;
    }

    /// <summary>The methods the main listener's routes take for the request's path, in the order they were mapped.</summary>
    private List<string> AllowedOnMainListener(HttpContext httpContext)
    {
        var routes = _mainRoutes ??= MainRoutes(httpContext.RequestServices.GetRequiredService<EndpointDataSource>());
        var allowed = new List<string>();
        var values = new RouteValueDictionary();
        foreach (var (matcher, methods) in routes)
        {
            values.Clear();
            if (matcher.TryMatch(httpContext.Request.Path, values))
            {
                allowed.AddRange(methods.Where(m => !allowed.Contains(m, StringComparer.OrdinalIgnoreCase)));
            }
        }

        return allowed;
    }

    private static List<(TemplateMatcher, IReadOnlyList<string>)> MainRoutes(EndpointDataSource endpoints) =>
        [.. endpoints.Endpoints.OfType<RouteEndpoint>()
            .Where(e => Answers(e, local: 0, onAppPort: false) && e.RoutePattern.RawText is not null
                && e.Metadata.GetMetadata<IHttpMethodMetadata>() is { HttpMethods.Count: > 0 })
            .Select(e => (new TemplateMatcher(TemplateParser.Parse(e.RoutePattern.RawText!), new RouteValueDictionary(e.RoutePattern.Defaults)),
                e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods))];

    private static Endpoint MethodNotAllowed(IReadOnlyList<string> allowed)
    {
        var allow = string.Join(", ", allowed);
        return new Endpoint(context =>
        {
            // As routing's own 405 endpoint: the status and Allow; the problem body is written by the status-code pages.
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = allow;
            return Task.CompletedTask;
        }, EndpointMetadataCollection.Empty, "405 HTTP Method Not Supported");
    }
}
