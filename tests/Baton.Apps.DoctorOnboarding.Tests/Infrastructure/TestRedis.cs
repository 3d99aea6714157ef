using StackExchange.Redis;

namespace Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

/// <summary>
/// The Redis of the cache tests: a private redis-server that <see cref="RedisCollectionFixture"/> starts for the
/// <see cref="RedisCollection"/> (database 9 on it). The seed fixes the cache's key names and the tests flush the
/// database and count the server's commands, so they run one at a time on a server of their own: on the shared Redis
/// (until 2026-12-05) a second test run on the machine (another worktree, another engineer) flushed their keys.
/// </summary>
internal static class TestRedis
{
    public const int Database = 9;

    private static PrivateRedis? s_server;

    public static string Endpoint => (s_server ?? throw new InvalidOperationException(
        $"TestRedis is started by the fixture of [Collection(RedisCollection.Name)]: put the test class in that collection.")).Configuration;

    /// <summary>The cache's <c>REDIS_URL</c>, database 9.</summary>
    public static string Url => $"redis://{Endpoint}/{Database}";

    /// <summary>Set by the collection's fixture before its first test and cleared after its last.</summary>
    internal static void Use(PrivateRedis? server) => s_server = server;

    public static async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var options = ConfigurationOptions.Parse(Endpoint);
        options.AllowAdmin = true;
        options.DefaultDatabase = Database;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }
}
