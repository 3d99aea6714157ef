using Baton.Apps.ReviewGateway.Forwarding;
using Baton.Retries;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.ReviewGateway.Tests.Forwarding;

public sealed class GatewayOptionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Read_NothingSet_UsesSeedDefaults()
    {
        var options = GatewayOptions.Read(Config());

        Assert.Equal(8080, options.Port);
        Assert.Equal(new Uri("http://localhost:3000"), options.WorkerUrl);
        Assert.Equal(LogLevel.Information, options.LogLevel);
        Assert.Equal(32, options.MaxConnections);
    }

    [Fact]
    public void Read_MaxConnections_IsUsed()
    {
        Assert.Equal(4, GatewayOptions.Read(Config(("Baton:Apps:ReviewGateway:MaxConnections", "4"))).MaxConnections);
    }

    [Fact]
    public void Read_SeedVariables_AreUsed()
    {
        var options = GatewayOptions.Read(Config(("PORT", "9090"), ("WORKER_NODE_URL", "http://worker-node:3000/"), ("LOG_LEVEL", "debug")));

        Assert.Equal(9090, options.Port);
        Assert.Equal("http://worker-node:3000/enqueue", new WorkerNodeClient(options).EnqueueUri.ToString());
        Assert.Equal(LogLevel.Debug, options.LogLevel);
    }

    [Theory]
    [InlineData("PORT", "http", "PORT 'http' is not a port number")]
    [InlineData("PORT", "70000", "PORT '70000' is not a port number")]
    [InlineData("WORKER_NODE_URL", "worker:3000", "WORKER_NODE_URL 'worker:3000' is not an http(s) URL")]
    // The password of a URL that is refused is not echoed (before: printed on stderr at start-up).
    [InlineData("WORKER_NODE_URL", "ftp://u:WorkerPw99@h/", "WORKER_NODE_URL 'ftp://u:***@h/' is not an http(s) URL")]
    [InlineData("LOG_LEVEL", "loud", "LOG_LEVEL 'loud' must be trace, debug, info, warn, error or fatal")]
    // A bare number is days: before, accepted as a 10-day attempt timeout.
    [InlineData("Baton:Apps:ReviewGateway:AttemptTimeout", "10", "AttemptTimeout '10' must be a time span above 0 and at most 1.00:00:00 (hh:mm:ss); it was read as 10.00:00:00")]
    [InlineData("Baton:Apps:ReviewGateway:MaxAttempts", "0", "MaxAttempts '0' must be a whole number")]
    [InlineData("Baton:Apps:ReviewGateway:MaxConnections", "0", "MaxConnections '0' must be a whole number from 1 to 1024")]
    [InlineData("Baton:Apps:ReviewGateway:MaxConnections", "5000", "MaxConnections '5000' must be a whole number from 1 to 1024")]
    [InlineData("Baton:Apps:ReviewGateway:AttemptTimeout", "-00:00:01", "AttemptTimeout '-00:00:01' must be a positive time span")]
    public void Validate_BadValue_FailsNamingTheSetting(string key, string value, string expected)
    {
        var result = new GatewayOptionsValidator().Validate(null, GatewayOptions.Read(Config((key, value))));

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://worker-node:3000?token=abc", "http://worker-node:3000/?token=abc/enqueue")]
    [InlineData("http://worker-node:3000/api?v=2", "http://worker-node:3000/api?v=2/enqueue")]
    [InlineData("http://worker-node:3000#main", "http://worker-node:3000/#main/enqueue")]
    public void Validate_WorkerUrlWithAQueryOrFragment_FailsSayingWhereJobsWouldGo(string workerUrl, string wouldGoTo)
    {
        // Before: accepted, and {WORKER_NODE_URL}/enqueue put '/enqueue' into the query or fragment, so every job was
        // POSTed to the base path (a query's '?token=abc/enqueue', a fragment not sent at all) and failed as the worker's 404.
        var result = new GatewayOptionsValidator().Validate(null, GatewayOptions.Read(Config(("WORKER_NODE_URL", workerUrl))));

        Assert.True(result.Failed);
        Assert.Contains($"WORKER_NODE_URL '{workerUrl}' has a query or fragment", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(wouldGoTo, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MaxDelayShorterThanBaseDelay_Fails()
    {
        var result = new GatewayOptionsValidator().Validate(null, GatewayOptions.Read(Config(("Baton:Apps:ReviewGateway:BaseDelay", "00:02:00"))));

        Assert.Contains("Baton:Apps:ReviewGateway:MaxDelay (00:01:00) must not be shorter than BaseDelay (00:02:00)", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void RetryPolicy_Default_DoublesFromOneSecondCappedAtOneMinute()
    {
        var policy = GatewayOptions.Read(Config()).RetryPolicy;

        // Without jitter (draw 0): 1, 2, 4, 8, 16, 32, then the 60 s cap.
        var delays = Enumerable.Range(1, 8).Select(n => policy.NextDelay(n, 0).TotalSeconds).ToArray();
        Assert.Equal(new double[] { 1, 2, 4, 8, 16, 32, 60, 60 }, delays);
        // Full jitter draw takes at most 20 % off.
        Assert.Equal(48, policy.NextDelay(10, 1).TotalSeconds, 3);
    }

    [Fact]
    public void RetryPolicy_Default_RidesOutAnOutageOfFiftyFiveMinutes()
    {
        var policy = GatewayOptions.Read(Config()).RetryPolicy;
        var error = new WorkerUnavailableException("503");
        var at = Now;
        var attempt = 1;
        // Worst case for the outage: every delay shortened by the full 20 % jitter.
        while (policy.NextRetryAt(at, attempt, error, jitterDraw: 1) is { } next)
        {
            at = next;
            attempt++;
        }

        Assert.Equal(75, attempt);
        Assert.True(at - Now >= TimeSpan.FromMinutes(55), $"the last attempt comes {at - Now} after the first");
    }

    [Fact]
    public void RetryPolicy_FourXxAnswer_IsNotRetried()
    {
        var policy = GatewayOptions.Read(Config()).RetryPolicy;

        Assert.Null(policy.NextRetryAt(Now, 1, new NonRetryableException("worker node answered 422"), 0));
        Assert.NotNull(policy.NextRetryAt(Now, 1, new HttpRequestException("Connection refused"), 0));
        Assert.NotNull(policy.NextRetryAt(Now, 1, new WorkerUnavailableException("503"), 0));
    }
}
