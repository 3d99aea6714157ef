namespace Baton.Server;

/// <summary>
/// The runnable host's log events. EventIds: 10xx startup and configuration (11xx-14xx are Baton.AspNetCore's).
/// Never pass a secret to any of these.
/// </summary>
internal static partial class HostLog
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
}
