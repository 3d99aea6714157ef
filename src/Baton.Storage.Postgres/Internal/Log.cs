using Microsoft.Extensions.Logging;

namespace Baton.Storage.Postgres.Internal;

/// <summary>The PostgreSQL store's log events. EventIds 52xx.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 5200, Level = LogLevel.Information,
        Message = "Applied PostgreSQL schema migration {Version} to schema {Schema}")]
    public static partial void MigrationApplied(ILogger logger, int version, string schema);

    [LoggerMessage(EventId = 5201, Level = LogLevel.Warning,
        Message = "Listening for runnable runs on {Channel} failed; reconnecting in {Delay}: {Error}")]
    public static partial void ListenFailed(ILogger logger, Exception exception, string channel, TimeSpan delay, string error);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Warning,
        Message = "A write batch of {Count} statements failed ({Error}); re-running them one transaction each")]
    public static partial void BatchFailed(ILogger logger, Exception exception, int count, string error);

    [LoggerMessage(EventId = 5203, Level = LogLevel.Warning,
        Message = "A batch of {Count} creates with concurrency keys failed ({Error}); re-running them one transaction each")]
    public static partial void CreateBatchFailed(ILogger logger, Exception exception, int count, string error);

    [LoggerMessage(EventId = 5204, Level = LogLevel.Warning,
        Message = "The session holding node id {NodeId}'s lock broke ({Error}); taking the lock again")]
    public static partial void NodeLockSessionBroke(ILogger logger, Exception exception, string nodeId, string error);

    [LoggerMessage(EventId = 5205, Level = LogLevel.Information, Message = "Node id {NodeId}'s lock taken again on a new session")]
    public static partial void NodeLockTakenAgain(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 5206, Level = LogLevel.Critical,
        Message = "Another live process took node id {NodeId} after this process's lock on it broke; this process no longer leases or claims runs and stops")]
    public static partial void NodeIdLost(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 5207, Level = LogLevel.Warning,
        Message = "A claim's answer was lost ({Error}); reading the runs it took, if it committed")]
    public static partial void ClaimAnswerLost(ILogger logger, Exception exception, string error);

    [LoggerMessage(EventId = 5208, Level = LogLevel.Warning,
        Message = "Node {NodeId}'s clock is {Seconds:0.0} s {Direction} the PostgreSQL server's ({ServerTime:o}). Leases, due times and schedule fires are compared with each node's own clock: a node more than about 20 s ahead takes runs that live nodes hold, one far behind lets its leases lapse. Synchronize the nodes' clocks (NTP, chrony)")]
    public static partial void ClockSkewed(ILogger logger, string nodeId, double seconds, string direction, DateTimeOffset serverTime);

    [LoggerMessage(EventId = 5209, Level = LogLevel.Information,
        Message = "Node {NodeId}'s clock is back within 2.5 s of the PostgreSQL server's ({Seconds:0.0} s)")]
    public static partial void ClockBackInTolerance(ILogger logger, string nodeId, double seconds);
}
