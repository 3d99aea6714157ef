using StackExchange.Redis;

namespace Baton.Redis;

/// <summary>
/// The shared Redis connection registered by <c>AddRedis</c>: one multiplexer for the process, connected on first use,
/// which reconnects by itself after an outage.
/// </summary>
public interface IRedisConnection
{
    /// <summary>The shared multiplexer. Never issue blocking commands (BLMOVE, BLPOP) on it: they stall every other caller.</summary>
    IConnectionMultiplexer Multiplexer { get; }

    /// <summary>The configured database of <see cref="Multiplexer"/>.</summary>
    IDatabase Database { get; }

    /// <summary>Whether the multiplexer is connected now (false during an outage or before the first connection).</summary>
    bool IsConnected { get; }

    /// <summary>The parsed configuration (for a dedicated connection when one is needed); holds the password, never log it.</summary>
    ConfigurationOptions Options { get; }

    /// <summary>The endpoints and database, without the password: what logs and errors may show.</summary>
    string Description { get; }
}
