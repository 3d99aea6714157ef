namespace Baton.Testing;

/// <summary>
/// The shared Redis the test script starts: <c>BATON_REDIS</c> (StackExchange form or redis:// URL), or 127.0.0.1:6379
/// when unset. Tests on it use keys with a unique prefix (<see cref="NewPrefix"/>) and delete them afterwards; a test
/// that restarts Redis uses a <see cref="PrivateRedis"/> instead.
/// </summary>
public static class SharedRedis
{
    public const string Default = "127.0.0.1:6379";

    public static string Configuration { get; } =
        Environment.GetEnvironmentVariable("BATON_REDIS") is { Length: > 0 } fromEnv ? fromEnv : Default;

    /// <summary>A key prefix no other test uses: <c>test:{guid}:</c>.</summary>
    public static string NewPrefix() => $"test:{Guid.NewGuid():N}:";

    /// <summary>The message for a shared Redis that does not answer: how to start one.</summary>
    public static string Unreachable(Exception ex) =>
        $"These tests need Redis: {Configuration} from {(Environment.GetEnvironmentVariable("BATON_REDIS") is { Length: > 0 } ? "BATON_REDIS" : "the default (BATON_REDIS is not set)")} " +
        $"is not reachable ({ex.Message}). Run them through scripts/test.sh, or start redis-server on 127.0.0.1:6379 and set BATON_REDIS.";
}
