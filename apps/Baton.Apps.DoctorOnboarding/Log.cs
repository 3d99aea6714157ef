using Microsoft.Extensions.Logging;

namespace Baton.Apps.DoctorOnboarding;

/// <summary>The orchestrator's log events, EventIds 44xx (40xx-41xx are the RabbitMQ transport's). Per-message lines are Debug so a busy orchestrator does not log every call.</summary>
internal static partial class Log
{
    [LoggerMessage(4400, LogLevel.Information, "Doctor onboarding listening on queue {Queue}; accounts on {AccountsQueue}, provider directory on {DirectoryQueue} (the orchestrator has no HTTP surface of its own: its sagas are runs on Baton's API and dashboard)")]
    public static partial void Started(ILogger logger, string queue, string accountsQueue, string directoryQueue);

    [LoggerMessage(4401, LogLevel.Warning, "Redis cache unreachable ({Reason}): composite reads go straight to the services until it answers again")]
    public static partial void CacheDown(ILogger logger, Exception? exception, string reason);

    [LoggerMessage(4402, LogLevel.Information, "Redis cache reachable again: composite reads are cached again")]
    public static partial void CacheBack(ILogger logger);

    [LoggerMessage(4403, LogLevel.Error, "REDIS_URL cannot be used ({Reason}): composite reads are not cached")]
    public static partial void CacheUnusable(ILogger logger, string reason);

    [LoggerMessage(4404, LogLevel.Debug, "Cache: dropped {Count} keys for event {Pattern} (doctor {DoctorId})")]
    public static partial void Invalidated(ILogger logger, long count, string pattern, string? doctorId);

    [LoggerMessage(4405, LogLevel.Debug, "Saga {SagaId}: {Step} done")]
    public static partial void StepDone(ILogger logger, string sagaId, string step);

    [LoggerMessage(4406, LogLevel.Warning, "Saga {SagaId}: compensation of {Step} found nothing to remove ({Error})")]
    public static partial void CompensationNothingToDo(ILogger logger, string sagaId, string step, string error);

    [LoggerMessage(4411, LogLevel.Warning, "Saga {SagaId}: createProfile failed but profile {ProfileId} exists for the account (a timed-out call the directory carried out); removing it")]
    public static partial void OrphanProfileRemoved(ILogger logger, string sagaId, string profileId);

    [LoggerMessage(4414, LogLevel.Warning, "Saga {SagaId}: createAccount gave no reply, but its create with the same idempotency key names account {AccountId}; removing it")]
    public static partial void LostAccountRemoved(ILogger logger, string sagaId, string accountId);

    [LoggerMessage(4415, LogLevel.Debug, "Saga {SagaId}: createAccount gave no reply, and its create with the same idempotency key was refused: no account to remove ({Error})")]
    public static partial void NoLostAccount(ILogger logger, string sagaId, string error);

    [LoggerMessage(4416, LogLevel.Warning, "Saga {SagaId}: createProfile gave no reply, and its create sent again with the same idempotency key names profile {ProfileId}; removing it")]
    public static partial void LostProfileRemoved(ILogger logger, string sagaId, string profileId);

    [LoggerMessage(4417, LogLevel.Debug, "Saga {SagaId}: createProfile gave no reply, and its create with the same idempotency key was refused: no profile made under the key ({Error})")]
    public static partial void NoLostProfile(ILogger logger, string sagaId, string error);

    [LoggerMessage(4412, LogLevel.Debug, "Saga {SagaId}: createProfile failed and the account has no profile ({Error})")]
    public static partial void NoOrphanProfile(ILogger logger, string sagaId, string error);

    [LoggerMessage(4413, LogLevel.Warning, "Cache: the value of {Key} is not a composite ({Error}); read as a miss and overwritten")]
    public static partial void CacheValueUnreadable(ILogger logger, string key, string error);
}
