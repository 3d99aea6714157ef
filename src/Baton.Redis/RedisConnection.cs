using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Baton.Redis;

/// <summary>One multiplexer per process, connected on first use (never aborting on a failed first connection).</summary>
internal sealed class RedisConnection(ConfigurationOptions options, ILogger<RedisConnection> logger) : IRedisConnection, IDisposable
{
    private readonly Lazy<ConnectionMultiplexer> _multiplexer = new(() => Connect(options, logger));

    public IConnectionMultiplexer Multiplexer => _multiplexer.Value;

    public IDatabase Database => Multiplexer.GetDatabase();

    public bool IsConnected => _multiplexer.IsValueCreated && _multiplexer.Value.IsConnected;

    public ConfigurationOptions Options => options;

    public string Description { get; } = RedisConfiguration.Describe(options);

    private static ConnectionMultiplexer Connect(ConfigurationOptions options, ILogger logger)
    {
        var multiplexer = ConnectionMultiplexer.Connect(options.Clone());
        var description = RedisConfiguration.Describe(options);
        if (!multiplexer.IsConnected)
        {
            Log.RedisNotConnected(logger, description);
        }

        multiplexer.ConnectionFailed += (_, e) => Log.RedisConnectionFailed(logger, description, e.FailureType.ToString());
        multiplexer.ConnectionRestored += (_, _) => Log.RedisConnectionRestored(logger, description);
        return multiplexer;
    }

    public void Dispose()
    {
        if (_multiplexer.IsValueCreated)
        {
            _multiplexer.Value.Dispose();
        }
    }
}
