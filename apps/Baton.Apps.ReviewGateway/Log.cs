using Microsoft.Extensions.Logging;

namespace Baton.Apps.ReviewGateway;

/// <summary>The gateway's log events, EventIds 20xx. Per-request lines are Debug so a busy gateway does not log every accept.</summary>
internal static partial class Log
{
    [LoggerMessage(2000, LogLevel.Information, "Review gateway listening on port {Port}, forwarding to {WorkerUrl}")]
    public static partial void Started(ILogger logger, int port, Uri workerUrl);

    [LoggerMessage(2001, LogLevel.Debug, "Job {JobId} for place {PlaceId} enqueued as run {RunId} (duplicate: {Duplicate})")]
    public static partial void Enqueued(ILogger logger, string placeId, string jobId, string runId, bool duplicate);

    [LoggerMessage(2002, LogLevel.Debug, "Enqueue refused: {Reason}")]
    public static partial void ValidationFailed(ILogger logger, string reason);

    [LoggerMessage(2003, LogLevel.Error, "Job {JobId} could not be stored")]
    public static partial void StoreFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(2004, LogLevel.Warning, "Health: the store did not answer: {Error}")]
    public static partial void StoreUnreachable(ILogger logger, Exception exception, string error);

    [LoggerMessage(2006, LogLevel.Error, "Job {JobId} could not be stored: no answer from the store within {TimeoutSeconds} s (Baton:RequestTimeout); answered 503")]
    public static partial void StoreTimedOut(ILogger logger, string jobId, double timeoutSeconds);

    [LoggerMessage(2007, LogLevel.Warning, "Job {JobId}, answered 503 at the time limit, was stored afterwards: run {RunId} ({Outcome}); it is forwarded, and a repeat finds it")]
    public static partial void StoredLate(ILogger logger, string jobId, string runId, string outcome);

    [LoggerMessage(2005, LogLevel.Error, "Job {JobId} could not be stored: {Error}")]
    public static partial void StoreRefused(ILogger logger, string jobId, string error);
}
