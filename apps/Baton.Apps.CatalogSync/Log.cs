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

    [LoggerMessage(5006, LogLevel.Information, "Catalog sync demo: simulated feed of {Products} products at {Url}")]
    public static partial void DemoFeed(ILogger logger, int products, string url);

    [LoggerMessage(5007, LogLevel.Information, "Catalog sync {RunId}: {Status}, phase {Phase}, {Bytes} bytes fetched, chunks {ChunksDone}/{ChunksTotal}, {Records} records ({Inserted} inserted, {Updated} updated, {Skipped} skipped, {Failed} dead letters)")]
    public static partial void Progress(ILogger logger, string runId, string status, string phase, long bytes, long chunksDone, long chunksTotal, long records, long inserted, long updated, long skipped, long failed);

    [LoggerMessage(5008, LogLevel.Information, "Catalog sync {RunId} done in {Seconds:0.0} s: {Summary}")]
    public static partial void DemoSummary(ILogger logger, string runId, string summary, double seconds);

    [LoggerMessage(5009, LogLevel.Warning, "Catalog sync {RunId} ended {Status}: {Failure}")]
    public static partial void DemoFailed(ILogger logger, string runId, string status, string failure);

    [LoggerMessage(5010, LogLevel.Information, "Catalog database: {Description}")]
    public static partial void CatalogDatabase(ILogger logger, string description);
}
