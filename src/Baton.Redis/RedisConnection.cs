using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Baton.Redis;

/// <summary>One multiplexer per process, connected on first use (never aborting on a failed first connection).</summary>
internal sealed class RedisConnection(ConfigurationOptions options, ILogger<RedisConnection> logger) : IRedisConnection, IDisposable
{
    private readonly Lock _lock = new();
    private ConnectionMultiplexer? _multiplexer;

    /// <summary>Connected on first use; a failed creation is not cached (the next use tries again).</summary>
    public IConnectionMultiplexer Multiplexer
    {
        get
        {
            if (Volatile.Read(ref _multiplexer) is { } multiplexer)
            {
                return multiplexer;
            }

            lock (_lock)
            {
                return _multiplexer ??= Connect(options, logger);
            }
        }
    }

    public IDatabase Database => Multiplexer.GetDatabase();

    public bool IsConnected => Volatile.Read(ref _multiplexer)?.IsConnected ?? false;

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
        _multiplexer?.Dispose();
    }
}
