using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Tests.Infrastructure;

/// <summary>
/// A test class with a Redis of its own (the seed's keys, such as <c>brands:list</c>, are fixed, so test classes must
/// not share one): a <see cref="PrivateRedis"/> started before the tests and a connection to it, both disposed after.
/// </summary>
public abstract class PrivateRedisTests : IAsyncLifetime
{
    private ConnectionMultiplexer? _connection;

    protected PrivateRedis Redis { get; private set; } = null!;

    /// <summary>A connection to <see cref="Redis"/> (reconnects by itself after a restart).</summary>
    protected IDatabase Db => _connection!.GetDatabase();

    /// <summary>Whether the Redis keeps an append-only file (data survives a kill). The default is no.</summary>
    protected virtual bool AppendOnly => false;

    public async Task InitializeAsync()
    {
        Redis = await PrivateRedis.StartAsync(AppendOnly);
        _connection = await ConnectionMultiplexer.ConnectAsync(Redis.Configuration + ",abortConnect=false");
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        await Redis.DisposeAsync();
    }
}
