using Baton.Apps.ReviewGateway.Health;

namespace Baton.Apps.ReviewGateway.Tests.Health;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(0.4, "0s")]
    [InlineData(45, "45s")]
    [InlineData(59.6, "1m0s")]
    [InlineData(300, "5m0s")]
    [InlineData(3600, "1h0m0s")]
    [InlineData(2 * 3600 + 15 * 60 + 30, "2h15m30s")]
    [InlineData(50 * 3600 + 1, "50h0m1s")]
    public void Format_Duration_MatchesGoDurationStringRoundedToSeconds(double seconds, string expected) =>
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromSeconds(seconds)));
}
