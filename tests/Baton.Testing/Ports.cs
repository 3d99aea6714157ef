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
    /// <remarks>
    /// Chosen below the kernel's ephemeral range (<see cref="Range"/>), not by binding port 0: a port from that range could
    /// be taken by any process's outgoing connection between this choice and the test server's bind, and a private
    /// RabbitMQ node once failed to start so in CI ("dist_port_already_used"). Outgoing connections never take a port
    /// below the range, so only another listener could, and the test processes reserve theirs here.
    /// </remarks>
    public static int Free()
    {
        var (low, high) = Range;
        for (var tries = 0; tries < 100_000; tries++)
        {
            var port = Random.Shared.Next(low, high + 1);
            if (!Given.TryAdd(port, 0))
            {
                continue;
            }

            if (CanListen(port) && ReserveAcrossProcesses(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"No free port between {low} and {high} on 127.0.0.1 that no test process handed out in the last {ReservedFor.TotalMinutes:0} minutes.");
    }

    /// <summary>
    /// Where <see cref="Free"/> chooses: the 5,000 ports below the ephemeral range (<c>ip_local_port_range</c>, 32768 by
    /// default), which leaves out the shared servers' ports (5432, 5672, 6379, RabbitMQ's 25672) and the benchmarks' (13000-18080).
    /// </summary>
    public static (int Low, int High) Range { get; } = RangeBelow(EphemeralLow());

    public static (int Low, int High) RangeBelow(int ephemeralLow)
    {
        var high = Math.Max(ephemeralLow, 32_768) - 1;
        return (high - 4_999, high);
    }

    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32_768;
        }
    }

    private static bool CanListen(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
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
