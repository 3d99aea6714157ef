using Baton.Runs;

namespace Baton.Core.Tests;

public sealed class RunStatusTests
{
    [Theory]
    [InlineData(RunStatus.Pending, true)]
    [InlineData(RunStatus.Compensating, true)]
    [InlineData(RunStatus.Succeeded, false)]
    [InlineData(RunStatus.CompensationFailed, false)]
    public void IsActive_ByStatus_MatchesLifeCycle(RunStatus status, bool active)
    {
        Assert.Equal(active, status.IsActive());
        Assert.Equal(!active, status.IsTerminal());
    }

    [Fact]
    public void WireName_RoundTrips_ForEveryStatus()
    {
        foreach (var status in Enum.GetValues<RunStatus>())
        {
            Assert.True(RunStatusExtensions.TryParseWireName(status.ToWireName(), out var parsed));
            Assert.Equal(status, parsed);
        }
    }

    [Theory]
    [InlineData(RunStatus.Failed, RunStatus.Pending)]
    [InlineData(RunStatus.Cancelled, RunStatus.Pending)]
    [InlineData(RunStatus.CompensationFailed, RunStatus.Compensating)]
    [InlineData(RunStatus.Succeeded, null)]
    [InlineData(RunStatus.Compensated, null)]
    [InlineData(RunStatus.Running, null)]
    public void RetryTarget_ByStatus_ResumesOrRefuses(RunStatus status, RunStatus? expected) =>
        Assert.Equal(expected, status.RetryTarget());
}
