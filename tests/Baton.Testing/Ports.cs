using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Baton.Testing;

public static class Ports
{
    private static readonly ConcurrentDictionary<int, byte> Given = new();

    /// <summary>
    /// A TCP port on 127.0.0.1 that was free a moment ago, never the same one twice in this test process: a port the
    /// system handed out again could bring a request of an earlier test's client, still in flight, to a later test's server
    /// (a fresh gateway server once counted a run its 400 test never made; CI 2026-12-05).
    /// </summary>
    public static int Free()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (Given.TryAdd(port, 0))
            {
                return port;
            }
        }
    }
}
