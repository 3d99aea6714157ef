namespace Baton.Redis;

/// <summary>Logs a Redis outage once when it starts and once when it ends, whichever list or loop sees it.</summary>
internal sealed class OutageGate(string trigger, string redis, Microsoft.Extensions.Logging.ILogger logger)
{
    private int _down;

    public bool IsDown => Volatile.Read(ref _down) == 1;

    public void Failed(Exception exception)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            if (IsAuthenticationFailure(exception))
            {
                Log.RedisRefusedCredentials(logger, exception, trigger, redis);
            }
            else
            {
                Log.RedisOutage(logger, exception, trigger, redis);
            }
        }
    }

    public void Succeeded()
    {
        if (Volatile.Read(ref _down) == 1 && Interlocked.Exchange(ref _down, 0) == 1)
        {
            Log.RedisResumed(logger, trigger, redis);
        }
    }

    /// <summary>A connection refused for its user or password (AUTH failed): Redis answers, but not to these credentials.</summary>
    public static bool IsAuthenticationFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is StackExchange.Redis.RedisConnectionException { FailureType: StackExchange.Redis.ConnectionFailureType.AuthenticationFailure }
                || (e is StackExchange.Redis.RedisServerException server
                    && (server.Message.StartsWith("WRONGPASS", StringComparison.Ordinal) || server.Message.StartsWith("NOAUTH", StringComparison.Ordinal))))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Connection losses, timeouts and a server still loading its data after a restart.</summary>
    public static bool IsOutage(Exception exception) =>
        exception is StackExchange.Redis.RedisConnectionException or StackExchange.Redis.RedisTimeoutException or System.Net.Sockets.SocketException
        || (exception is StackExchange.Redis.RedisServerException server
            && (server.Message.StartsWith("LOADING", StringComparison.Ordinal) || server.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal)));
}
