using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Baton.Testing;

public static class Ports
{
    /// <summary>How long a port handed out by any test process stays out of use for the others.</summary>
    private static readonly TimeSpan ReservedFor = TimeSpan.FromMinutes(10);

    private static readonly ConcurrentDictionary<int, byte> Given = new();

    private static readonly string MarkerDirectory = Path.Combine(Path.GetTempPath(), "baton-test-ports");

    /// <summary>
    /// A TCP port on 127.0.0.1 that was free a moment ago, never the same one twice in this test process, nor one that
    /// another test process (the test projects run in parallel) handed out in the last 10 minutes. A port handed out
    /// again could bring a request still in flight to a later test's server: a client of an earlier test, or a server
    /// that keeps forwarding to a worker port nobody listens on (the dashboard's gateway page test does, for its whole
    /// life). A fresh gateway server once counted a run its 400 test never made (CI 2026-12-05).
    /// </summary>
    public static int Free()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (Given.TryAdd(port, 0) && ReserveAcrossProcesses(port))
            {
                return port;
            }
        }
    }

    /// <summary>
    /// Creates the port's marker file, which only one process can do; a marker older than <see cref="ReservedFor"/> is
    /// stale (from an earlier run) and is replaced.
    /// </summary>
    private static bool ReserveAcrossProcesses(int port)
    {
        Directory.CreateDirectory(MarkerDirectory);
        var marker = Path.Combine(MarkerDirectory, port.ToString(CultureInfo.InvariantCulture));
        if (TryCreate(marker))
        {
            return true;
        }

        try
        {
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(marker) < ReservedFor)
            {
                return false;
            }

            File.Delete(marker);
        }
        catch (IOException)
        {
            return false;
        }

        return TryCreate(marker);
    }

    private static bool TryCreate(string marker)
    {
        try
        {
            using var _ = new FileStream(marker, FileMode.CreateNew, FileAccess.Write);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
