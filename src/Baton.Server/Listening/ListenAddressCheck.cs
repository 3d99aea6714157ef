using System.Net;
using System.Net.Sockets;
using Baton.Server.Configuration;

namespace Baton.Server.Listening;

/// <summary>
/// Finds a listener address that is already taken before anything starts. Kestrel binds last, after the
/// store has been opened and the worker has started, so a port in use would otherwise surface as a worker
/// torn down mid-start; a trial bind of each address first lets the server refuse to start with one line.
/// </summary>
internal static class ListenAddressCheck
{
    /// <summary>
    /// Binds and releases every address of <paramref name="urls"/> (<c>;</c>-separated, as given to Kestrel).
    /// Throws <see cref="BatonConfigurationException"/> naming the first one that is in use or not allowed.
    /// Port 0, Unix sockets and addresses this machine does not have are left to Kestrel. <paramref name="settingsOf"/>
    /// names the settings that chose an app's own port (null for the main listener's).
    /// </summary>
    public static void EnsureFree(string urls, Func<int, string?>? settingsOf = null)
    {
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var address = BindingAddress.Parse(url);
            if (address.IsNamedPipe || address.IsUnixPipe || address.Port == 0)
            {
                continue;
            }

            foreach (var endpoint in EndpointsOf(address))
            {
                TryBind(endpoint, url, settingsOf?.Invoke(endpoint.Port)
                    ?? "BATON_PORT or Baton:Port for the main listener, Baton:Urls for full URLs");
            }
        }
    }

    /// <summary>The endpoints Kestrel binds for a host name: both loopbacks for localhost, the address itself, else every interface.</summary>
    private static IEnumerable<IPEndPoint> EndpointsOf(BindingAddress address)
    {
        if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return [new IPEndPoint(IPAddress.Loopback, address.Port), new IPEndPoint(IPAddress.IPv6Loopback, address.Port)];
        }

        var host = address.Host.Trim('[', ']');
        return IPAddress.TryParse(host, out var ip)
            ? [new IPEndPoint(ip, address.Port)]
            : [new IPEndPoint(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, address.Port)];
    }

    private static void TryBind(IPEndPoint endpoint, string url, string settings)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            socket.DualMode = true;
        }

        try
        {
            socket.Bind(endpoint);
            socket.Listen(1);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new BatonConfigurationException(
                $"{url}: port {endpoint.Port} on {endpoint.Address} is already in use by another process; stop it or choose another port ({settings})");
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AccessDenied)
        {
            throw new BatonConfigurationException(
                $"{url}: this process may not listen on port {endpoint.Port} on {endpoint.Address} (ports below 1024 need privileges); choose a port from 1024 up");
        }
        catch (SocketException)
        {
            // An address family or interface this machine lacks (e.g. no IPv6): Kestrel skips or reports it itself.
        }
    }
}
