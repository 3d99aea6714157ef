using System.Globalization;
using Baton.Server.Configuration;

namespace Baton.Server.Listening;

/// <summary>Where the main listener's addresses come from.</summary>
internal enum ListenSource
{
    /// <summary>None of the settings below: <c>http://127.0.0.1:3003</c> (local only).</summary>
    Default,

    /// <summary><c>BATON_PORT</c>, <c>ORCHESTRATOR_PORT</c>, <c>Baton:Port</c> or <c>Baton:Urls</c> (with <c>Baton:Host</c>).</summary>
    Baton,

    /// <summary>ASP.NET Core's <c>Kestrel:Endpoints</c> section; Kestrel binds those itself.</summary>
    KestrelEndpoints,

    /// <summary>ASP.NET Core's <c>urls</c> setting (<c>ASPNETCORE_URLS</c>, <c>--urls</c>).</summary>
    AspNetCoreUrls,

    /// <summary>ASP.NET Core's <c>http_ports</c>/<c>https_ports</c> settings (<c>ASPNETCORE_HTTP_PORTS</c>, <c>ASPNETCORE_HTTPS_PORTS</c>), on every interface.</summary>
    AspNetCorePorts,
}

/// <summary>
/// The main listener's addresses, following ASP.NET Core's conventions where Baton's own settings are not given. In order:
/// <c>Kestrel:Endpoints</c> (Kestrel binds them whatever else is set), Baton's shortcut (<c>BATON_PORT</c>,
/// <c>ORCHESTRATOR_PORT</c>, <c>Baton:Port</c>, <c>Baton:Urls</c>), <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c> /
/// <c>ASPNETCORE_HTTPS_PORTS</c> (as ASP.NET Core does: <c>http://*:port</c>), else <c>http://127.0.0.1:3003</c>.
/// <c>Baton:Host</c> alone (appsettings.json sets it) does not count as choosing an address.
/// </summary>
internal sealed record MainListener(ListenSource Source, string Urls, string Host)
{
    private static readonly string[] BatonKeys = ["BATON_PORT", "ORCHESTRATOR_PORT", "Baton:Port", "Baton:Urls"];

    public static MainListener Resolve(IConfiguration configuration, BatonServerOptions options)
    {
        var kestrel = configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Select(e => e["Url"]).Where(u => !string.IsNullOrWhiteSpace(u)).Select(u => u!.Trim()).ToList();
        if (kestrel.Count > 0)
        {
            return FromUrls(ListenSource.KestrelEndpoints, string.Join(';', kestrel), options);
        }

        if (BatonKeys.Any(k => !string.IsNullOrWhiteSpace(configuration[k])))
        {
            return new MainListener(ListenSource.Baton, options.ListenUrls, options.Host);
        }

        if (configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls && !string.IsNullOrWhiteSpace(urls))
        {
            return FromUrls(ListenSource.AspNetCoreUrls, urls.Trim(), options);
        }

        var ports = Ports(configuration[WebHostDefaults.HttpPortsKey], "http").Concat(Ports(configuration[WebHostDefaults.HttpsPortsKey], "https")).ToList();
        if (ports.Count > 0)
        {
            return new MainListener(ListenSource.AspNetCorePorts, string.Join(';', ports), "0.0.0.0");
        }

        return new MainListener(ListenSource.Default, options.ListenUrls, options.Host);
    }

    /// <summary>A URL a local client (the demo) can call the main listener at: a wildcard host becomes 127.0.0.1.</summary>
    public string LocalUrl
    {
        get
        {
            var first = BindingAddress.Parse(Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0]);
            var host = first.Host is "*" or "+" or "0.0.0.0" or "[::]" ? "127.0.0.1" : first.Host;
            return string.Create(CultureInfo.InvariantCulture, $"{first.Scheme}://{host}:{first.Port}");
        }
    }

    /// <summary>The apps' own listeners bind the host of the main listener's first address (every interface for a wildcard).</summary>
    private static MainListener FromUrls(ListenSource source, string urls, BatonServerOptions options)
    {
        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        string host;
        try
        {
            var parsed = BindingAddress.Parse(first);
            host = parsed.Host is "*" or "+" ? "0.0.0.0" : parsed.Host.Trim('[', ']');
        }
        catch (FormatException)
        {
            // Kestrel reports the malformed address itself when it binds.
            host = options.Host;
        }

        return new MainListener(source, urls, host);
    }

    private static IEnumerable<string> Ports(string? ports, string scheme) =>
        (ports ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{scheme}://*:{p}"));
}
