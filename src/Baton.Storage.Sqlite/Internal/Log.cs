using Microsoft.Extensions.Logging;

namespace Baton.Storage.Sqlite.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Warning,
        Message = "A write batch of {Count} operations failed; re-running them one transaction each")]
    public static partial void BatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information,
        Message = "Applied SQLite schema migration {Version} to {Path}")]
    public static partial void MigrationApplied(ILogger logger, int version, string path);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning,
        Message = "The background WAL checkpoint failed; until a pass succeeds, the writer checkpoints the WAL itself once it passes the backstop size")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Information,
        Message = "Took over {Count} leases left in {Path} by a process that is gone; their runs resume at once")]
    public static partial void LeasesTakenOver(ILogger logger, int count, string path);
}
