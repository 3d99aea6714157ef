using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.BrandInsights.Tests.Configuration;

public sealed class BrandInsightsOptionsTests
{
    [Fact]
    public void Read_NothingSet_SeedDefaults()
    {
        var options = BrandInsightsOptions.Read(Config());

        Assert.Equal("redis://localhost:6379", options.RedisUrl);
        Assert.Matches("^orchestrator-[0-9a-f]{8}$", options.OrchestratorId);
        Assert.Equal((5, 9000, 9001, 0.75, 3), (options.ConcurrencyLimit, options.HttpPort, options.PrometheusPort, options.MergeSimilarityThreshold, options.MaxRetries));
        Assert.Equal(TimeSpan.FromSeconds(2), options.RetryBackoffBase);
        Assert.Equal(TimeSpan.FromSeconds(30), options.BrandRefreshInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), options.ChunkFetchTimeout);
        Assert.Equal(LogLevel.Information, options.LogLevel);
        Assert.Null(options.SummaryTtl);
        Assert.Empty(Validate(options));
    }

    [Fact]
    public void Read_SeedVariables_Bound()
    {
        var options = BrandInsightsOptions.Read(Config(
            ("REDIS_URL", "redis://:secret@127.0.0.1:6380/2"), ("ORCHESTRATOR_ID", "orchestrator-1"), ("CONCURRENCY_LIMIT", "8"),
            ("HTTP_PORT", "9100"), ("PROMETHEUS_PORT", "9101"), ("MERGE_SIMILARITY_THRESHOLD", "0.8"), ("MAX_RETRIES", "5"),
            ("RETRY_BACKOFF_BASE", "0.5"), ("BRAND_REFRESH_INTERVAL_SEC", "10"), ("CHUNK_FETCH_TIMEOUT_SEC", "15"), ("LOG_LEVEL", "debug"),
            ("Baton:Apps:BrandInsights:SummaryTtl", "3600")));

        Assert.Equal(("redis://:secret@127.0.0.1:6380/2", "orchestrator-1", 8), (options.RedisUrl, options.OrchestratorId, options.ConcurrencyLimit));
        Assert.Equal((9100, 9101, 0.8, 5), (options.HttpPort, options.PrometheusPort, options.MergeSimilarityThreshold, options.MaxRetries));
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.RetryBackoffBase);
        Assert.Equal((TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(15)), (options.BrandRefreshInterval, options.ChunkFetchTimeout));
        Assert.Equal(LogLevel.Debug, options.LogLevel);
        Assert.Equal(TimeSpan.FromHours(1), options.SummaryTtl);
        Assert.Empty(Validate(options));
    }

    [Fact]
    public void RetryPolicy_Defaults_SeedBackoffTwoFourEightSeconds()
    {
        var policy = new BrandInsightsOptions().RetryPolicy;

        Assert.Equal(4, policy.MaxAttempts);
        Assert.Equal([2.0, 4.0, 8.0], Enumerable.Range(1, 3).Select(n => policy.NextDelay(n, 0.99).TotalSeconds));
    }

    [Theory]
    [InlineData("40", "2")]
    [InlineData("100", "2")]
    [InlineData("30", "86400")]
    public void RetryPolicy_ManyRetriesTheSettingsAllow_SeedBackoffWithoutOverflow(string maxRetries, string backoffBase)
    {
        // MAX_RETRIES takes 0 to 100, but base × 2^(MAX_RETRIES−1) as the policy's longest delay passed what a TimeSpan holds
        // from MAX_RETRIES=40 (base 2 s): before, the server did not start ("Baton cannot start: OverflowException: TimeSpan
        // overflowed because the duration is too long.", naming no setting).
        var options = BrandInsightsOptions.Read(Config(("MAX_RETRIES", maxRetries), ("RETRY_BACKOFF_BASE", backoffBase)));

        var policy = options.RetryPolicy;

        Assert.Empty(Validate(options));
        Assert.Equal(options.MaxRetries + 1, policy.MaxAttempts);
        var seconds = options.RetryBackoffBase.TotalSeconds;
        Assert.Equal([seconds, seconds * 2, seconds * 4], Enumerable.Range(1, 3).Select(n => policy.NextDelay(n, 0.5).TotalSeconds));
        Assert.True(DateTimeOffset.UtcNow.AddYears(100) + policy.MaxDelay > DateTimeOffset.UtcNow); // a retry's due time can be computed
    }

    [Theory]
    [InlineData("CONCURRENCY_LIMIT", "abc", "CONCURRENCY_LIMIT 'abc' must be a whole number from 1 to 1000")]
    [InlineData("CONCURRENCY_LIMIT", "0", "CONCURRENCY_LIMIT '0' must be a whole number from 1 to 1000")]
    [InlineData("HTTP_PORT", "70000", "HTTP_PORT '70000' must be a whole number from 1 to 65535")]
    [InlineData("MERGE_SIMILARITY_THRESHOLD", "1.5", "MERGE_SIMILARITY_THRESHOLD '1.5' must be a number from 0 to 1")]
    [InlineData("MAX_RETRIES", "-1", "MAX_RETRIES '-1' must be a whole number from 0 to 100")]
    [InlineData("RETRY_BACKOFF_BASE", "0", "RETRY_BACKOFF_BASE '0' must be a number of seconds from 0.001 to 86400")]
    [InlineData("RETRY_BACKOFF_BASE", "0.0004", "RETRY_BACKOFF_BASE '0.0004' must be a number of seconds from 0.001 to 86400")]
    [InlineData("BRAND_REFRESH_INTERVAL_SEC", "soon", "BRAND_REFRESH_INTERVAL_SEC 'soon' must be a number of seconds from 0.001 to 86400")]
    [InlineData("CHUNK_FETCH_TIMEOUT_SEC", "1e-5", "CHUNK_FETCH_TIMEOUT_SEC '1e-5' must be a number of seconds from 0.001 to 86400")]
    [InlineData("Baton:Apps:BrandInsights:SummaryTtl", "0.0001", "Baton:Apps:BrandInsights:SummaryTtl '0.0001' must be a number of seconds from 0.001 to 86400")]
    [InlineData("LOG_LEVEL", "loud", "LOG_LEVEL 'loud' must be trace, debug, info, warn, error or fatal")]
    [InlineData("PROMETHEUS_PORT", "9000", "HTTP_PORT and PROMETHEUS_PORT are both 9000; they must differ")]
    [InlineData("ORCHESTRATOR_ID", "two words", "ORCHESTRATOR_ID must be at most 100 characters without spaces")]
    public void Validate_BadValue_ClearError(string key, string value, string expected)
    {
        Assert.Contains(expected, Validate(BrandInsightsOptions.Read(Config((key, value)))));
    }

    [Theory]
    [InlineData("http://:hunter2@host:6379")]
    [InlineData("redis://:hunter2@host:6379/x")]
    public void Validate_BadRedisUrl_ErrorWithoutThePassword(string url)
    {
        var errors = Validate(BrandInsightsOptions.Read(Config(("REDIS_URL", url))));

        var error = Assert.Single(errors);
        Assert.StartsWith("REDIS_URL ", error);
        Assert.DoesNotContain("hunter2", error);
    }

    [Fact]
    public async Task Start_BadRedisUrl_OneLineNamingRedisUrlWithoutThePassword()
    {
        // Before: the server's report said it twice, first without naming the variable ("app BrandInsights: The database in
        // a Redis URL is a number ... (Parameter 'configuration')", from AddRedis), then as "REDIS_URL is not usable: ...".
        var environment = Infrastructure.BrandServer.Environment("redis://:hunter2@127.0.0.1:6379/x", Infrastructure.BrandServer.NewDirectory(), "orchestrator-bad-url");
        await using var server = await Infrastructure.BrandServer.StartAsync(environment, waitForHealth: false);

        var exitCode = await server.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        var problems = server.Process.Stderr.Split('\n').Where(l => l.StartsWith("  - ", StringComparison.Ordinal)).ToList();
        Assert.Equal("  - REDIS_URL is not usable: The database in a Redis URL is a number (redis://host:port/0).", Assert.Single(problems));
        Assert.DoesNotContain("hunter2", server.Process.Output, StringComparison.Ordinal);
    }

    private static List<string> Validate(BrandInsightsOptions options) =>
        new BrandInsightsOptionsValidator().Validate(null, options) is { Failed: true } result ? [.. result.Failures] : [];

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
}
