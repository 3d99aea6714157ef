using Microsoft.Extensions.Logging;

namespace Baton.Samples.Demo;

/// <summary>The demo's log events: 10xx the demo workflow (as when it lived in the server), 50xx the catalog feed demo.</summary>
internal static partial class Log
{
    [LoggerMessage(1007, LogLevel.Information, "Demo run {RunId} started; watch it with: curl -H \"X-ADMIN-KEY: $KEY\" {BaseUrl}/api/runs/{RunId}")]
    public static partial void DemoStarted(ILogger logger, string runId, string baseUrl);

    [LoggerMessage(1008, LogLevel.Information, "Demo run {RunId}: {Status}, phase {Phase}, {Done}/{Total} items")]
    public static partial void DemoProgress(ILogger logger, string runId, string status, string phase, long done, long total);

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

    [LoggerMessage(6000, LogLevel.Information, "Doctor onboarding demo: RabbitMQ or Redis does not answer ({Reason}); to try it, start them (redis-server --port 6379; rabbitmq-server, see DEPENDENCIES.md) and restart the server")]
    public static partial void DoctorDemoSkipped(ILogger logger, string reason);

    [LoggerMessage(6001, LogLevel.Information, "Doctor onboarding demo: simulators of the accounts and provider-directory services on {AccountsQueue} and {DirectoryQueue}; sending {Count} doctor creations to {Queue}")]
    public static partial void DoctorDemoStarted(ILogger logger, string accountsQueue, string directoryQueue, int count, string queue);

    [LoggerMessage(6003, LogLevel.Information, "Doctor onboarding demo: {Queues} already have consumers (stand-ins started by hand?); the demo starts no simulators of its own beside them, which would share the sagas' calls with them, and sends nothing")]
    public static partial void DoctorDemoServicesPresent(ILogger logger, string queues);

    [LoggerMessage(6002, LogLevel.Information, "Doctor onboarding demo: {Email} -> {Outcome}")]
    public static partial void DoctorDemoSaga(ILogger logger, string email, string outcome);
}
