using Microsoft.Extensions.Logging;

namespace Baton.RabbitMq;

/// <summary>The transport's log events (EventIds 40xx connection, 41xx server, 42xx client, 43xx run replies).</summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Information, "RabbitMQ: connected to {Address}")]
    public static partial void Connected(ILogger logger, string address);

    [LoggerMessage(4001, LogLevel.Warning, "RabbitMQ: {Address} cannot be reached ({Reason}); retrying until it answers")]
    public static partial void BrokerUnreachable(ILogger logger, string address, string reason);

    [LoggerMessage(4002, LogLevel.Warning, "RabbitMQ: connection to {Address} lost ({Reason}); recovering")]
    public static partial void ConnectionLost(ILogger logger, string address, string reason);

    [LoggerMessage(4003, LogLevel.Information, "RabbitMQ: connection to {Address} recovered")]
    public static partial void ConnectionRecovered(ILogger logger, string address);

    [LoggerMessage(4100, LogLevel.Information, "Nest server: consuming queue {Queue} (prefetch {Prefetch}, concurrency {Concurrency})")]
    public static partial void ServerListening(ILogger logger, string queue, int prefetch, int concurrency);

    [LoggerMessage(4101, LogLevel.Warning, "Nest server: queue {Queue} cannot be consumed yet ({Reason}); retrying")]
    public static partial void ServerStartFailed(ILogger logger, string queue, string reason);

    [LoggerMessage(4102, LogLevel.Warning, "Nest server: bad message on queue {Queue} (id {Id}): {Reason}")]
    public static partial void BadMessage(ILogger logger, string queue, string? id, string reason);

    [LoggerMessage(4103, LogLevel.Warning, "Nest server: no handler on queue {Queue} for pattern {Pattern} (id {Id})")]
    public static partial void NoHandler(ILogger logger, string queue, string pattern, string? id);

    [LoggerMessage(4104, LogLevel.Error, "Nest server: handler for {Pattern} on queue {Queue} failed (id {Id})")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string pattern, string queue, string? id);

    [LoggerMessage(4105, LogLevel.Warning, "Nest server: message {Id} for {Pattern} on queue {Queue} could not be taken ({Reason}); it is delivered again")]
    public static partial void Requeued(ILogger logger, string? id, string pattern, string queue, string reason);

    [LoggerMessage(4106, LogLevel.Warning, "Nest server: message {Id} on queue {Queue} could not be answered or acknowledged ({Reason}); the broker delivers it again")]
    public static partial void DeliveryLost(ILogger logger, string? id, string queue, string reason);

    [LoggerMessage(4107, LogLevel.Warning, "Nest server: event {Id} for {Pattern} on queue {Queue} refused, no run started ({Reason}); it has no replyTo to answer, so it is acknowledged and dropped")]
    public static partial void EventRefused(ILogger logger, string? id, string? pattern, string queue, string reason);

    [LoggerMessage(4200, LogLevel.Warning, "Nest client: reply {Id} from queue {Queue} is not a valid reply ({Reason})")]
    public static partial void BadReply(ILogger logger, string id, string queue, string reason);

    [LoggerMessage(4201, LogLevel.Warning, "Nest client: queue {Queue} could not be declared ({Reason}); sending anyway")]
    public static partial void DeclareFailed(ILogger logger, string queue, string reason);

    [LoggerMessage(4300, LogLevel.Debug, "Nest server: reply for run {RunId} ({Status}) sent to correlation id {CorrelationId}")]
    public static partial void RunReplied(ILogger logger, string runId, string status, string correlationId);

    [LoggerMessage(4301, LogLevel.Warning, "Nest server: checking runs for their replies failed; the runs stay watched")]
    public static partial void ReplyCheckFailed(ILogger logger, Exception exception);

    [LoggerMessage(4302, LogLevel.Information, "Nest server: {Count} runs found waiting for their reply at start")]
    public static partial void RepliesRecovered(ILogger logger, int count);

    [LoggerMessage(4303, LogLevel.Error, "Nest server: errorReply failed for run {RunId}; the default error reply is sent")]
    public static partial void ErrorReplyFailed(ILogger logger, Exception exception, string runId);
}
