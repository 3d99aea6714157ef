using System.Text.RegularExpressions;
using Baton.Hosting;

namespace Baton.Core.Tests.Nodes;

/// <summary>The default node id stays the same across restarts of one installation and differs between installations.</summary>
public sealed partial class NodeIdentityTests
{
    [Fact]
    public void DefaultNodeId_SameHostAndContentRoot_SameIdEveryTime()
    {
        var first = BatonOptions.DefaultNodeId("web-1", "/srv/baton");
        var again = BatonOptions.DefaultNodeId("web-1", "/srv/baton");
        var otherRoot = BatonOptions.DefaultNodeId("web-1", "/srv/baton-2");
        var otherHost = BatonOptions.DefaultNodeId("web-2", "/srv/baton");

        Assert.Equal(first, again);
        Assert.Matches(HostDashEightHex(), first);
        Assert.NotEqual(first, otherRoot);
        Assert.StartsWith("web-2-", otherHost, StringComparison.Ordinal);
        Assert.Equal(first[^8..], otherHost[^8..]);
    }

    [Fact]
    public void NodeId_Default_IsTheHostAndCurrentDirectoryIdNotPerProcess()
    {
        var options = new BatonOptions();
        var other = new BatonOptions();

        Assert.Equal(BatonOptions.DefaultNodeId(Environment.MachineName, Environment.CurrentDirectory), options.NodeId);
        Assert.Equal(options.NodeId, other.NodeId);
    }

    [GeneratedRegex("^web-1-[0-9a-f]{8}$")]
    private static partial Regex HostDashEightHex();
}
