using Baton.Retries;

namespace Baton.Core.Tests.Retries;

public sealed class RetryPolicyTests
{
    [Fact]
    public void Default_MatchesSeedValues()
    {
        var policy = RetryPolicy.Default;
        Assert.Equal(4, policy.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(5), policy.BaseDelay);
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 10)]
    [InlineData(3, 20)]
    [InlineData(4, 40)]
    public void NextDelay_NoJitter_DoublesFromBase(int failedAttempt, int expectedSeconds)
    {
        var policy = new RetryPolicy { JitterFactor = 0 };
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), policy.NextDelay(failedAttempt, 0.99));
    }

    [Fact]
    public void NextDelay_LargeAttempt_CappedAtMaxDelay()
    {
        var policy = new RetryPolicy { JitterFactor = 0, MaxDelay = TimeSpan.FromSeconds(30) };
        Assert.Equal(TimeSpan.FromSeconds(30), policy.NextDelay(10, 0));
        Assert.Equal(TimeSpan.FromSeconds(30), policy.NextDelay(1000, 0));
    }

    [Fact]
    public void NextDelay_Jitter_TakesAtMostJitterFactorOfDelay()
    {
        var policy = new RetryPolicy { JitterFactor = 0.2 };
        Assert.Equal(TimeSpan.FromSeconds(10), policy.NextDelay(2, 0));
        Assert.Equal(TimeSpan.FromSeconds(9), policy.NextDelay(2, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(8), policy.NextDelay(2, 1));
    }

    [Fact]
    public void NextRetryAt_AttemptsLeft_ReturnsNowPlusDelay()
    {
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var policy = new RetryPolicy { JitterFactor = 0, MaxAttempts = 3 };
        Assert.Equal(now.AddSeconds(5), policy.NextRetryAt(now, 1, new InvalidOperationException(), 0));
        Assert.Equal(now.AddSeconds(10), policy.NextRetryAt(now, 2, new InvalidOperationException(), 0));
        Assert.Null(policy.NextRetryAt(now, 3, new InvalidOperationException(), 0));
    }

    [Fact]
    public void NextRetryAt_NonRetryableError_ReturnsNull()
    {
        var now = DateTimeOffset.UnixEpoch;
        Assert.Null(RetryPolicy.Default.NextRetryAt(now, 1, new NonRetryableException("400 from upstream"), 0));
        Assert.Null(RetryPolicy.Default.NextRetryAt(now, 1, new ArgumentException("bad"), 0));
        Assert.NotNull(RetryPolicy.Default.NextRetryAt(now, 1, new HttpRequestException("503"), 0));
    }

    [Fact]
    public void NextRetryAt_CustomPredicate_Decides()
    {
        var policy = new RetryPolicy { ShouldRetry = ex => ex is TimeoutException };
        Assert.NotNull(policy.NextRetryAt(DateTimeOffset.UnixEpoch, 1, new TimeoutException(), 0));
        Assert.Null(policy.NextRetryAt(DateTimeOffset.UnixEpoch, 1, new InvalidOperationException(), 0));
    }

    [Fact]
    public void NextRetryAt_RetryAfterLongerThanBackoff_WaitsWhatWasAsked()
    {
        var now = DateTimeOffset.UnixEpoch;
        var policy = new RetryPolicy { JitterFactor = 0, BaseDelay = TimeSpan.FromSeconds(5), MaxDelay = TimeSpan.FromMinutes(5) };
        Assert.Equal(now.AddSeconds(90), policy.NextRetryAt(now, 1, new RetryAfterException("429", TimeSpan.FromSeconds(90)), 0));
    }

    [Fact]
    public void NextRetryAt_RetryAfterShorterThanBackoff_KeepsTheBackoff()
    {
        var now = DateTimeOffset.UnixEpoch;
        var policy = new RetryPolicy { JitterFactor = 0, BaseDelay = TimeSpan.FromSeconds(5) };
        Assert.Equal(now.AddSeconds(10), policy.NextRetryAt(now, 2, new RetryAfterException("503", TimeSpan.FromSeconds(1)), 0));
    }

    [Fact]
    public void NextRetryAt_RetryAfterBeyondMaxDelay_CappedAtMaxDelay()
    {
        var now = DateTimeOffset.UnixEpoch;
        var policy = new RetryPolicy { JitterFactor = 0, MaxDelay = TimeSpan.FromMinutes(2) };
        Assert.Equal(now.AddMinutes(2), policy.NextRetryAt(now, 1, new RetryAfterException("503", TimeSpan.FromHours(1)), 0));
    }

    [Fact]
    public void NextRetryAt_RetryAfterOnLastAttempt_ReturnsNull()
    {
        var policy = new RetryPolicy { MaxAttempts = 2 };
        Assert.Null(policy.NextRetryAt(DateTimeOffset.UnixEpoch, 2, new RetryAfterException("503", TimeSpan.FromSeconds(30)), 0));
    }

    [Fact]
    public void RetryAfterException_NegativeWait_Refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryAfterException("x", TimeSpan.FromSeconds(-1)));
}
