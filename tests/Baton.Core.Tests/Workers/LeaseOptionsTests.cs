using Baton.Hosting;

namespace Baton.Core.Tests.Workers;

/// <summary>The lease settings' rule: a heartbeat that fails once is made again before the lease runs out.</summary>
public sealed class LeaseOptionsTests
{
    [Theory]
    [InlineData(29, 30)]
    [InlineData(16, 30)]
    [InlineData(30, 30)]
    public void Validate_HeartbeatOverHalfTheLease_RefusedNamingBoth(int heartbeat, int lease)
    {
        // Before: any heartbeat shorter than the lease was accepted (29 s of 30 s: one late renewal and another node took
        // the runs over).
        var options = new BatonOptions { HeartbeatInterval = TimeSpan.FromSeconds(heartbeat), LeaseDuration = TimeSpan.FromSeconds(lease) };

        var result = new BatonOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(
            $"Baton:Engine:HeartbeatInterval ({TimeSpan.FromSeconds(heartbeat)}) must be at most half of LeaseDuration ({TimeSpan.FromSeconds(lease)})",
            result.FailureMessage,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(15, 30)]
    [InlineData(10, 30)]
    public void Validate_HeartbeatAtMostHalfTheLease_Accepted(int heartbeat, int lease)
    {
        var options = new BatonOptions { HeartbeatInterval = TimeSpan.FromSeconds(heartbeat), LeaseDuration = TimeSpan.FromSeconds(lease) };

        Assert.True(new BatonOptionsValidator().Validate(null, options).Succeeded);
    }
}
