using Microsoft.Extensions.Logging;

namespace Baton.Apps.CatalogSync;

/// <summary>The catalog sync's log events, EventIds 50xx. Never pass a credential to any of these.</summary>
internal static partial class Log
{
    [LoggerMessage(5000, LogLevel.Information, "Catalog sync {RunId}: resuming the download at byte {From} of {Total}")]
    public static partial void FetchResuming(ILogger logger, string runId, long from, long? total);

    [LoggerMessage(5001, LogLevel.Information, "Catalog sync {RunId}: feed stored, {Bytes} bytes, SHA-256 {Sha256}")]
    public static partial void FetchDone(ILogger logger, string runId, long bytes, string sha256);

    [LoggerMessage(5002, LogLevel.Debug, "Catalog sync {RunId}: chunk {Chunk} done: {Records} records, {Inserted} inserted, {Updated} updated, {Skipped} skipped, {Failed} dead letters")]
    public static partial void ChunkDone(ILogger logger, string runId, int chunk, long records, long inserted, long updated, long skipped, long failed);

    [LoggerMessage(5003, LogLevel.Information, "Catalog sync {RunId} finished: {Summary}")]
    public static partial void SyncFinished(ILogger logger, string runId, string summary);

    [LoggerMessage(5004, LogLevel.Information, "Catalog sync schedule {Schedule} ({Cron}, {TimeZone}) applied; next fire at {NextFireAt}")]
    public static partial void ScheduleApplied(ILogger logger, string schedule, string cron, string timeZone, DateTimeOffset? nextFireAt);

    [LoggerMessage(5005, LogLevel.Information, "Catalog sync {RunId} started ({Trigger})")]
    public static partial void SyncStarted(ILogger logger, string runId, string trigger);

    [LoggerMessage(5006, LogLevel.Information, "Catalog sync {RunId}: removed the feed file {Blob} that an earlier sync left ({Bytes} bytes)")]
    public static partial void LeftoverRemoved(ILogger logger, string runId, string blob, long bytes);

    [LoggerMessage(5007, LogLevel.Information, "Catalog sync {RunId}: the feed file was on another node's disk; downloaded again here, {Bytes} bytes, the same as the first download")]
    public static partial void FetchedAgain(ILogger logger, string runId, long bytes);

    [LoggerMessage(5008, LogLevel.Information, "Catalog sync {RunId}: the partial download ({Bytes} bytes) was left by another execution and its note names no ETag to resume it by; downloading from byte 0, each chunk compared with those applied")]
    public static partial void PartialDiscarded(ILogger logger, string runId, long bytes);

    [LoggerMessage(5009, LogLevel.Information, "Catalog sync {RunId}: resuming at byte {Have}, the feed {Why}; its first {Have} bytes are compared with those downloaded before the rest is appended (other bytes: the partial download is a different export and is not continued)")]
    public static partial void FetchComparingWhole(ILogger logger, string runId, long have, string why);

    [LoggerMessage(5011, LogLevel.Information, "Catalog sync {RunId}: the feed answered the Range request at byte {Have} with the whole feed (200, ETag {ETag}; If-Range {Validator}): a new export, or a feed without Range support or whose ETag changes; downloading from byte 0 again, each chunk compared with those this sync applied")]
    public static partial void FetchRestarting(ILogger logger, string runId, long have, string etag, string validator);

    [LoggerMessage(5030, LogLevel.Warning, "Catalog sync schedule {Schedule} ({Cron}, {TimeZone}) applied but kept disabled, as it was switched off through Baton's API; PUT it with \"enabled\": true to switch it on")]
    public static partial void ScheduleKeptDisabled(ILogger logger, string schedule, string cron, string timeZone);

    [LoggerMessage(5010, LogLevel.Information, "Catalog database: {Description}")]
    public static partial void CatalogDatabase(ILogger logger, string description);
}
