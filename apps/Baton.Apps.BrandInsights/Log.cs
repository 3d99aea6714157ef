using Microsoft.Extensions.Logging;

namespace Baton.Apps.BrandInsights;

/// <summary>The app's log events, EventIds 30xx. Per-batch lines are Debug so a busy brand does not log every merge.</summary>
internal static partial class Log
{
    [LoggerMessage(3000, LogLevel.Information, "Brand insights: orchestrator {OrchestratorId}, health on port {HttpPort}, metrics on port {PrometheusPort}, brands from brands:list every {RefreshSeconds} s")]
    public static partial void Started(ILogger logger, string orchestratorId, int httpPort, int prometheusPort, double refreshSeconds);

    [LoggerMessage(3001, LogLevel.Warning, "Chunk of brand '{Brand}' dead-lettered onto failed:brand:{Brand}: {Reason}")]
    public static partial void ChunkRejected(ILogger logger, string brand, string reason);

    [LoggerMessage(3002, LogLevel.Debug, "Brand '{Brand}': the state changed while merging; reading it again")]
    public static partial void WriteConflict(ILogger logger, string brand);

    [LoggerMessage(3003, LogLevel.Debug, "Brand '{Brand}': merged {Merged} chunks, skipped {Duplicates} already merged, {Failed} failed; backlog {Backlog}")]
    public static partial void BatchMerged(ILogger logger, string brand, int merged, int duplicates, int failed, long backlog);

    [LoggerMessage(3004, LogLevel.Warning, "brands:list is a Redis {Type}, not a set or a list: no brands are read until it is one")]
    public static partial void BrandsListWrongType(ILogger logger, string type);

    [LoggerMessage(3005, LogLevel.Information, "brands:list is empty or missing: no brands to process")]
    public static partial void BrandsListEmpty(ILogger logger);

    [LoggerMessage(3006, LogLevel.Information, "Brands now processed: {Brands}")]
    public static partial void BrandsChanged(ILogger logger, string brands);

    [LoggerMessage(3007, LogLevel.Warning, "Brand '{Brand}': Redis is unreachable while merging ({Error}); the batch waits and is merged when it answers")]
    public static partial void MergeWaitsForRedis(ILogger logger, string brand, string error);

    [LoggerMessage(3008, LogLevel.Warning, "Brand insights demo: no Redis answers at the configured REDIS_URL; start one with `redis-server --port 6379 --bind 127.0.0.1 --save ''` (or set REDIS_URL) and restart to see summaries built. The rest of the server runs.")]
    public static partial void DemoNoRedis(ILogger logger);

    [LoggerMessage(3009, LogLevel.Information, "Brand insights demo: feeding {Brands} brands with simulated chunk results ({Chunks} each); read summary:brand:<brand> in Redis")]
    public static partial void DemoStarted(ILogger logger, int brands, int chunks);

    [LoggerMessage(3010, LogLevel.Information, "Brand insights: {Count} brand leases given back at shutdown")]
    public static partial void LeasesReleased(ILogger logger, int count);

    [LoggerMessage(3011, LogLevel.Warning, "Brand insights: the brand leases could not be given back at shutdown ({Reason}); they expire by themselves")]
    public static partial void LeasesNotReleased(ILogger logger, string reason);

    [LoggerMessage(3012, LogLevel.Warning, "Brand insights demo: Redis failed ({Reason}); the demo stops feeding. The rest of the server runs.")]
    public static partial void DemoStopped(ILogger logger, string reason);
}
