using System.Net;
using System.Net.Sockets;
using Baton.Server.Configuration;
using Baton.Server.Listening;
using Microsoft.Extensions.Configuration;

namespace Baton.Server.Tests.Listening;

/// <summary>
/// Where the main listener listens: ASP.NET Core's conventions (<c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>,
/// <c>Kestrel:Endpoints</c>) when set, <c>BATON_PORT</c> as the shortcut, 127.0.0.1:3003 with none of them. The process tests
/// start the real server with each variable and call it where it should listen.
/// </summary>
public sealed class ListenSettingsTests
{
    private const string Key = "listen-test-key-3f9a0c7e2d41";

    private static MainListener Resolve(params (string Key, string Value)[] values)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();
        var options = new BatonServerOptions();
        ServerSettingsReader.Bind(options, configuration, Path.GetTempPath(), isDevelopment: false);
        return MainListener.Resolve(configuration, options);
    }

    [Fact]
    public void Resolve_NoSettings_DefaultsToLoopback3003()
    {
        var listener = Resolve(("Baton:Host", "127.0.0.1"));

        Assert.Equal(ListenSource.Default, listener.Source);
        Assert.Equal("http://127.0.0.1:3003", listener.Urls);
    }

    [Fact]
    public void Resolve_HttpPorts_EveryInterfaceLikeAspNetCore()
    {
        var listener = Resolve(("http_ports", "8080;8081"));

        Assert.Equal(ListenSource.AspNetCorePorts, listener.Source);
        Assert.Equal("http://*:8080;http://*:8081", listener.Urls);
        Assert.Equal("0.0.0.0", listener.Host);
        Assert.Equal("http://127.0.0.1:8080", listener.LocalUrl);
    }

    [Fact]
    public void Resolve_BatonPortBesideAspNetCoreUrls_BatonPortWins()
    {
        var listener = Resolve(("BATON_PORT", "4100"), ("urls", "http://127.0.0.1:4200"), ("http_ports", "8080"));

        Assert.Equal(ListenSource.Baton, listener.Source);
        Assert.Equal("http://127.0.0.1:4100", listener.Urls);
    }

    [Fact]
    public void Resolve_KestrelEndpoints_WinOverEverything()
    {
        var listener = Resolve(("Kestrel:Endpoints:Main:Url", "http://0.0.0.0:4300"), ("BATON_PORT", "4100"), ("urls", "http://127.0.0.1:4200"));

        Assert.Equal(ListenSource.KestrelEndpoints, listener.Source);
        Assert.Equal("http://0.0.0.0:4300", listener.Urls);
        Assert.Equal("0.0.0.0", listener.Host);
    }

    [Fact]
    public async Task Start_AspNetCoreUrls_ListensThere()
    {
        var port = Ports.Free();
        await using var server = Start(port, ("BATON_PORT", null), ("ASPNETCORE_URLS", $"http://127.0.0.1:{port}"));

        await server.WaitForLiveAsync();

        // The listening line is logged after Kestrel accepts connections, through the console logger's queue.
        await server.WaitForLineAsync(l => l.Contains($"http://127.0.0.1:{port}", StringComparison.Ordinal), "the listening line");
    }

    [Fact]
    public async Task Start_AspNetCoreHttpPorts_ListensOnEveryInterface()
    {
        var port = Ports.Free();
        await using var server = Start(port, ("BATON_PORT", null), ("ASPNETCORE_HTTP_PORTS", port.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        await server.WaitForLiveAsync();

        await server.WaitForLineAsync(l => l.Contains($"http://[::]:{port}", StringComparison.Ordinal), "the listening line");
    }

    [Fact]
    public async Task Start_KestrelEndpoints_ListensThere()
    {
        var port = Ports.Free();
        await using var server = Start(port, ("BATON_PORT", null), ("Kestrel__Endpoints__Main__Url", $"http://127.0.0.1:{port}"));

        await server.WaitForLiveAsync();

        using var client = server.NewClient(Key);
        using var runs = await client.GetAsync("/api/runs");
        Assert.Equal(HttpStatusCode.OK, runs.StatusCode);
    }

    [Fact]
    public async Task Start_BatonPortBesideAspNetCoreUrls_ListensOnBatonPortOnly()
    {
        var port = Ports.Free();
        var other = Ports.Free();
        await using var server = Start(port, ("ASPNETCORE_URLS", $"http://127.0.0.1:{other}"));

        await server.WaitForLiveAsync();

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(async () => await socket.ConnectAsync(IPAddress.Loopback, other));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    private static ServerProcess Start(int port, params (string Key, string? Value)[] variables)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ADMIN_KEY"] = Key,
            ["Baton__Store__Sqlite__Path"] = Path.Combine(TestPaths.NewTempDirectory(), "baton.db"),
        };
        foreach (var (key, value) in variables)
        {
            environment[key] = value;
        }

        return ServerProcess.Start(environment, port);
    }
}
