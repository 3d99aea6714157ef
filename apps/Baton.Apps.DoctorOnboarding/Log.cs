using Microsoft.Extensions.Logging;

namespace Baton.Apps.DoctorOnboarding;

/// <summary>The orchestrator's log events, EventIds 40xx. Per-message lines are Debug so a busy orchestrator does not log every call.</summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Information, "Doctor onboarding listening on queue {Queue}; accounts on {AccountsQueue}, provider directory on {DirectoryQueue} (ORCHESTRATOR_PORT {Port} is not listened on: no HTTP surface)")]
    public static partial void Started(ILogger logger, string queue, string accountsQueue, string directoryQueue, int port);

    [LoggerMessage(4001, LogLevel.Warning, "Redis cache unreachable ({Reason}): composite reads go straight to the services until it answers again")]
    public static partial void CacheDown(ILogger logger, Exception? exception, string reason);

    [LoggerMessage(4002, LogLevel.Information, "Redis cache reachable again: composite reads are cached again")]
    public static partial void CacheBack(ILogger logger);

    [LoggerMessage(4003, LogLevel.Error, "REDIS_URL cannot be used ({Reason}): composite reads are not cached")]
    public static partial void CacheUnusable(ILogger logger, string reason);

    [LoggerMessage(4004, LogLevel.Debug, "Cache: dropped {Count} keys for event {Pattern} (doctor {DoctorId})")]
    public static partial void Invalidated(ILogger logger, long count, string pattern, string? doctorId);

    [LoggerMessage(4005, LogLevel.Debug, "Saga {SagaId}: {Step} done")]
    public static partial void StepDone(ILogger logger, string sagaId, string step);

    [LoggerMessage(4006, LogLevel.Warning, "Saga {SagaId}: compensation of {Step} found nothing to remove ({Error})")]
    public static partial void CompensationNothingToDo(ILogger logger, string sagaId, string step, string error);

    [LoggerMessage(4007, LogLevel.Information, "Doctor onboarding demo: RabbitMQ or Redis does not answer ({Reason}); start them to try it: redis-server --port 6379 and rabbitmq-server (see DEPENDENCIES.md), then restart the server")]
    public static partial void DemoSkipped(ILogger logger, string reason);

    [LoggerMessage(4008, LogLevel.Information, "Doctor onboarding demo: saga {SagaId} ended {Outcome}")]
    public static partial void DemoSaga(ILogger logger, string sagaId, string outcome);
}
