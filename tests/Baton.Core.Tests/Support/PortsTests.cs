using System.Net;
using System.Net.Sockets;
using Baton.Testing;

namespace Baton.Core.Tests.Support;

/// <summary>The test servers' ports come from below the kernel's ephemeral range, where no outgoing connection can take them.</summary>
public sealed class PortsTests
{
    [Fact]
    public void Free_PortsBelowTheEphemeralRange_DistinctAndListenable()
    {
        // Before: Ports.Free() bound port 0, so every port came from the ephemeral range, where another process's outgoing
        // connection could take it before the test server bound it (a private RabbitMQ node failed to start so in CI).
        var ephemeralLow = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var ports = Enumerable.Range(0, 20).Select(_ => Ports.Free()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports, p => Assert.InRange(p, Ports.Range.Low, Ports.Range.High));
        Assert.True(Ports.Range.High < Math.Max(ephemeralLow, 32_768), $"range {Ports.Range} reaches the ephemeral range from {ephemeralLow}");
        using var listener = new TcpListener(IPAddress.Loopback, ports[0]);
        listener.Start();
    }

    [Theory]
    [InlineData(32_768, 27_768, 32_767)]
    [InlineData(40_000, 35_000, 39_999)]
    [InlineData(1_024, 27_768, 32_767)]
    public void RangeBelow_EphemeralStart_FiveThousandPortsBelowIt(int ephemeralLow, int low, int high) =>
        Assert.Equal((low, high), Ports.RangeBelow(ephemeralLow));
}
