namespace Baton.Server;

/// <summary>
/// The log events of Baton's HTTP surface. EventIds: 11xx API, 12xx auth, 13xx health and metrics, 14xx request
/// logging (10xx, startup and configuration, are the runnable host's). Never pass a secret to any of these.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1100, LogLevel.Information, "Run {RunId} of {Workflow} accepted")]
    public static partial void RunAccepted(ILogger logger, string runId, string workflow);

    [LoggerMessage(1101, LogLevel.Warning, "Bad request answered {StatusCode}: {Detail}")]
    public static partial void BadRequest(ILogger logger, int statusCode, string detail);

    [LoggerMessage(1102, LogLevel.Warning, "{Method} {Path} answered 503: the store is unavailable ({ErrorType}, SQLSTATE {SqlState})")]
    public static partial void StoreUnavailable(ILogger logger, Exception exception, string method, PathString path, string errorType, string sqlState);

    [LoggerMessage(1200, LogLevel.Warning, "Rejected {Method} {Path}: admin key {Reason}")]
    public static partial void Unauthorized(ILogger logger, string method, string path, string reason);

    [LoggerMessage(1300, LogLevel.Warning, "Readiness: store unreachable: {Error}")]
    public static partial void StoreUnreachable(ILogger logger, Exception exception, string error);

    [LoggerMessage(1301, LogLevel.Warning, "Metrics: could not count queued runs")]
    public static partial void QueuedRunsUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(1400, LogLevel.Information, "HTTP {Method} {Path}{Query} responded {StatusCode} in {ElapsedMs:0.0} ms")]
    public static partial void Request(ILogger logger, string method, string path, string query, int statusCode, double elapsedMs);

    [LoggerMessage(1401, LogLevel.Debug, "HTTP {Method} {Path}{Query} responded {StatusCode} in {ElapsedMs:0.0} ms")]
    public static partial void ProbeRequest(ILogger logger, string method, string path, string query, int statusCode, double elapsedMs);
}
