namespace Baton.Server;

/// <summary>
/// The server's log events. EventIds: 10xx startup and configuration, 11xx API, 12xx auth,
/// 13xx health and metrics, 14xx request logging. Never pass a secret to any of these.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Baton {Version} listening on {Urls} ({Environment}); store {StorePath}; workflows: {Workflows}")]
    public static partial void ServerStarted(ILogger logger, string version, string urls, string environment, string storePath, string workflows);

    [LoggerMessage(1001, LogLevel.Information, "Store ready at {StorePath}")]
    public static partial void StoreReady(ILogger logger, string storePath);

    [LoggerMessage(1002, LogLevel.Information, "Schedule {Schedule} from configuration applied; next fire at {NextFireAt}")]
    public static partial void ConfiguredScheduleApplied(ILogger logger, string schedule, DateTimeOffset? nextFireAt);

    [LoggerMessage(1003, LogLevel.Information, "App {App} enabled")]
    public static partial void AppEnabled(ILogger logger, string app);

    [LoggerMessage(1004, LogLevel.Warning, "Baton:Apps:{App} is enabled in configuration but no such app is built into this server")]
    public static partial void UnknownApp(ILogger logger, string app);

    [LoggerMessage(1005, LogLevel.Information, "Shutting down: draining requests and runs for up to {Timeout}")]
    public static partial void ShuttingDown(ILogger logger, TimeSpan timeout);

    [LoggerMessage(1006, LogLevel.Warning, "Using an admin key generated for Development (printed once on the console); set ADMIN_KEY to choose one")]
    public static partial void GeneratedAdminKey(ILogger logger);

    [LoggerMessage(1009, LogLevel.Warning, "ADMIN_KEY is shorter than {MinimumLength} characters, which makes it guessable; use a long random key, e.g. ADMIN_KEY=$(openssl rand -hex 32)")]
    public static partial void ShortAdminKey(ILogger logger, int minimumLength);

    [LoggerMessage(1010, LogLevel.Critical, "Baton stopped with an error")]
    public static partial void StoppedWithError(ILogger logger, Exception exception);

    [LoggerMessage(1100, LogLevel.Information, "Run {RunId} of {Workflow} accepted")]
    public static partial void RunAccepted(ILogger logger, string runId, string workflow);

    [LoggerMessage(1101, LogLevel.Warning, "Bad request answered {StatusCode}: {Detail}")]
    public static partial void BadRequest(ILogger logger, int statusCode, string detail);

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
