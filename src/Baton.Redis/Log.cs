using Microsoft.Extensions.Logging;

namespace Baton.Redis;

/// <summary>The Redis transport's log events (EventIds 50xx: connection 500x, list trigger 501x-502x).</summary>
internal static partial class Log
{
    [LoggerMessage(5000, LogLevel.Warning, "Redis {Redis} did not answer at start; the connection keeps retrying in the background")]
    public static partial void RedisNotConnected(ILogger logger, string redis);

    [LoggerMessage(5001, LogLevel.Debug, "Redis {Redis} connection lost ({FailureType})")]
    public static partial void RedisConnectionFailed(ILogger logger, string redis, string failureType);

    [LoggerMessage(5002, LogLevel.Debug, "Redis {Redis} connection restored")]
    public static partial void RedisConnectionRestored(ILogger logger, string redis);

    [LoggerMessage(5010, LogLevel.Information, "Redis list trigger {Trigger} started as consumer {ConsumerId} on {Redis}")]
    public static partial void TriggerStarted(ILogger logger, string trigger, string consumerId, string redis);

    [LoggerMessage(5011, LogLevel.Information, "Redis list trigger {Trigger} stopped")]
    public static partial void TriggerStopped(ILogger logger, string trigger);

    [LoggerMessage(5012, LogLevel.Warning, "Redis list trigger {Trigger}: Redis {Redis} is unreachable; retrying with backoff until it answers")]
    public static partial void RedisOutage(ILogger logger, Exception exception, string trigger, string redis);

    [LoggerMessage(5024, LogLevel.Error, "Redis list trigger {Trigger}: Redis {Redis} refused the credentials (check the connection's user and password); retrying with backoff until it accepts them")]
    public static partial void RedisRefusedCredentials(ILogger logger, Exception exception, string trigger, string redis);

    [LoggerMessage(5013, LogLevel.Information, "Redis list trigger {Trigger}: Redis {Redis} answers again, consumption resumed")]
    public static partial void RedisResumed(ILogger logger, string trigger, string redis);

    [LoggerMessage(5014, LogLevel.Warning, "Redis list trigger {Trigger}: item of {ListKey} dead-lettered to {DeadLetterKey}: {Reason}")]
    public static partial void ItemDeadLettered(ILogger logger, string trigger, string listKey, string deadLetterKey, string reason);

    [LoggerMessage(5015, LogLevel.Warning, "Redis list trigger {Trigger}: the inbox failed for a batch of {ListKey}; it stays in the processing list and is offered again")]
    public static partial void InboxFailed(ILogger logger, Exception exception, string trigger, string listKey);

    [LoggerMessage(5016, LogLevel.Error, "Redis list trigger {Trigger}: the mapper failed for a batch of {ListKey}; the batch is dead-lettered")]
    public static partial void MapperFailed(ILogger logger, Exception exception, string trigger, string listKey);

    [LoggerMessage(5017, LogLevel.Warning, "Redis list trigger {Trigger}: list discovery failed; the previous {Count} lists are kept")]
    public static partial void DiscoveryFailed(ILogger logger, Exception exception, string trigger, int count);

    [LoggerMessage(5018, LogLevel.Information, "Redis list trigger {Trigger}: {Count} items of dead consumer {ConsumerId} pushed back onto their source lists")]
    public static partial void ConsumerRecovered(ILogger logger, string trigger, string consumerId, long count);

    [LoggerMessage(5019, LogLevel.Information, "Redis list trigger {Trigger}: {Count} items left in its processing list of {ListKey} are offered again")]
    public static partial void ProcessingReoffered(ILogger logger, string trigger, string listKey, long count);

    [LoggerMessage(5020, LogLevel.Error, "Redis list trigger {Trigger}: unexpected failure on {ListKey}; retrying with backoff")]
    public static partial void ListFailed(ILogger logger, Exception exception, string trigger, string listKey);

    [LoggerMessage(5021, LogLevel.Debug, "Redis list trigger {Trigger}: this consumer does not hold the lease {LeaseKey} of {ListKey}; nothing is moved from it until it does")]
    public static partial void LeaseNotHeld(ILogger logger, string trigger, string listKey, string leaseKey);

    [LoggerMessage(5022, LogLevel.Information, "Redis list trigger {Trigger}: the heartbeat of consumer {ConsumerId} was left by another process; waiting {Seconds} s to see whether it is still alive before taking the id over")]
    public static partial void WaitingForPredecessor(ILogger logger, string trigger, string consumerId, double seconds);

    [LoggerMessage(5023, LogLevel.Critical, "Redis list trigger {Trigger}: another live process consumes as {ConsumerId}; this one stops. {Advice}")]
    public static partial void ConsumerIdTaken(ILogger logger, string trigger, string consumerId, string advice);
}
