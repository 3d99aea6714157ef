using Microsoft.Extensions.Logging;

namespace Baton;

/// <summary>
/// The engine's log events. EventIds: 1xx runs, 2xx steps, 3xx worker, 4xx scheduler, 5xx node registry, 6xx retention.
/// A failure event takes the exception first, so its type and stack trace reach the log; {Error} repeats its message
/// so the one-line message alone still says what went wrong.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Information, "Run {RunId} of {Workflow} started (execution {Execution})")]
    public static partial void RunStarted(ILogger logger, string runId, string workflow, int execution);

    [LoggerMessage(101, LogLevel.Information, "Run {RunId} ended {Status}")]
    public static partial void RunEnded(ILogger logger, string runId, string status);

    [LoggerMessage(102, LogLevel.Warning, "Run {RunId} failed at step {Step}: {Error}")]
    public static partial void RunFailed(ILogger logger, Exception exception, string runId, string? step, string error);

    [LoggerMessage(103, LogLevel.Information, "Run {RunId} suspended until {WakeAt}")]
    public static partial void RunSuspended(ILogger logger, string runId, DateTimeOffset wakeAt);

    [LoggerMessage(104, LogLevel.Warning, "Run {RunId}: lease lost (it expired, e.g. after a pause longer than the lease); whichever node claims the run next carries on")]
    public static partial void LeaseLost(ILogger logger, string runId);

    [LoggerMessage(105, LogLevel.Warning, "Run {RunId}: stopped here after a failed store call; it resumes when its lease expires, on whichever node claims it then")]
    public static partial void StoppedOnStoreFailure(ILogger logger, string runId);

    [LoggerMessage(110, LogLevel.Information, "Run {RunId} compensating {Count} completed steps")]
    public static partial void Compensating(ILogger logger, string runId, int count);

    [LoggerMessage(106, LogLevel.Error, "Run {RunId}: compensation of step {Step} failed: {Error}")]
    public static partial void CompensationFailed(ILogger logger, Exception exception, string runId, string step, string error);

    [LoggerMessage(107, LogLevel.Error, "Run {RunId}: workflow {Workflow} is not registered on this node")]
    public static partial void UnknownWorkflow(ILogger logger, string runId, string workflow);

    [LoggerMessage(108, LogLevel.Information, "Run {RunId} interrupted by shutdown; lease released")]
    public static partial void RunInterrupted(ILogger logger, string runId);

    [LoggerMessage(109, LogLevel.Warning, "Run {RunId}: a step still ran {Seconds} s after the run failed and its token was cancelled; the run ends without it (what it does is not compensated)")]
    public static partial void StepsLeftRunning(ILogger logger, string runId, double seconds);

    // Without the exception object: a retry is routine, and with its stack trace each line was about 3.6 KB, 70 MB of log
    // for a reviewer's 7 minutes of worker outage. The step's final failure (201) carries the exception.
    [LoggerMessage(200, LogLevel.Warning, "Step {Step} attempt {Attempt} failed, retrying in {Delay}: {ErrorType}: {Error}")]
    public static partial void StepRetrying(ILogger logger, string step, int attempt, TimeSpan delay, string errorType, string error);

    [LoggerMessage(201, LogLevel.Warning, "Step {Step} failed after {Attempt} attempts: {Error}")]
    public static partial void StepFailed(ILogger logger, Exception exception, string step, int attempt, string error);

    [LoggerMessage(202, LogLevel.Error, "Run {RunId}: a store call failed")]
    public static partial void StoreWriteFailed(ILogger logger, Exception exception, string runId);

    [LoggerMessage(300, LogLevel.Information, "Worker {NodeId} started: up to {MaxRuns} runs at once")]
    public static partial void WorkerStarted(ILogger logger, string nodeId, int maxRuns);

    [LoggerMessage(301, LogLevel.Information, "Worker draining {Count} runs (up to {Timeout})")]
    public static partial void WorkerDraining(ILogger logger, int count, TimeSpan timeout);

    [LoggerMessage(302, LogLevel.Information, "Worker stopped; {Count} runs interrupted and released")]
    public static partial void WorkerStopped(ILogger logger, int count);

    [LoggerMessage(303, LogLevel.Error, "Worker error in {Activity}")]
    public static partial void WorkerError(ILogger logger, Exception exception, string activity);

    [LoggerMessage(304, LogLevel.Error, "Run {RunId}: the execution ended with an unexpected error")]
    public static partial void ExecutionCrashed(ILogger logger, Exception exception, string runId);

    [LoggerMessage(305, LogLevel.Warning, "Run {RunId}: giving back the lease of a run created while stopping failed; it expires instead")]
    public static partial void LeaseReleaseFailed(ILogger logger, Exception exception, string runId);

    [LoggerMessage(400, LogLevel.Information, "Schedule {Schedule} fired for {FireTime}: run {RunId}")]
    public static partial void ScheduleFired(ILogger logger, string schedule, DateTimeOffset fireTime, string? runId);

    [LoggerMessage(401, LogLevel.Information, "Schedule {Schedule} skipped missed fire {FireTime}")]
    public static partial void ScheduleSkipped(ILogger logger, string schedule, DateTimeOffset fireTime);

    [LoggerMessage(402, LogLevel.Error, "Scheduler error on {Schedule}")]
    public static partial void SchedulerError(ILogger logger, Exception exception, string schedule);

    [LoggerMessage(403, LogLevel.Warning, "Schedule {Schedule} not fired: workflow {Workflow} is not registered on this node")]
    public static partial void ScheduleUnknownWorkflow(ILogger logger, string schedule, string workflow);

    [LoggerMessage(404, LogLevel.Warning, "Schedule {Schedule} not fired: cron expression '{Cron}' in time zone {TimeZone} is invalid: {Error}")]
    public static partial void ScheduleBadCron(ILogger logger, string schedule, string cron, string timeZone, string? error);

    [LoggerMessage(405, LogLevel.Warning, "Schedule {Schedule} not fired: its input does not fit workflow {Workflow}")]
    public static partial void ScheduleBadInput(ILogger logger, Exception exception, string schedule, string workflow);

    [LoggerMessage(406, LogLevel.Warning, "Schedule {Schedule}: fire {FireTime} started no run: run {ActiveRunId} holds the workflow's concurrency key {ConcurrencyKey}")]
    public static partial void ScheduleFireConflict(ILogger logger, string schedule, DateTimeOffset fireTime, string activeRunId, string? concurrencyKey);

    // The cutoff as ISO 8601 text, as every timestamp of the JSON log (a DateTimeOffset was formatted by culture: 12/06/2026).
    [LoggerMessage(600, LogLevel.Information, "Pruned {Runs} finished runs and {Fires} schedule fire records older than {Cutoff}")]
    public static partial void Pruned(ILogger logger, int runs, int fires, string cutoff);

    [LoggerMessage(601, LogLevel.Warning, "Pruning old runs failed (tried again at the next interval)")]
    public static partial void PruneFailed(ILogger logger, Exception exception);

    [LoggerMessage(500, LogLevel.Warning, "Node {NodeId}: heartbeat failed, retrying every heartbeat interval")]
    public static partial void NodeHeartbeatFailed(ILogger logger, Exception exception, string nodeId);

    [LoggerMessage(501, LogLevel.Information, "Node {NodeId}: heartbeat recorded again")]
    public static partial void NodeHeartbeatRecovered(ILogger logger, string nodeId);

    [LoggerMessage(502, LogLevel.Information, "Node {NodeId} removed from the node registry")]
    public static partial void NodeRemoved(ILogger logger, string nodeId);

    [LoggerMessage(503, LogLevel.Warning, "Node {NodeId}: removing the node from the registry on shutdown failed")]
    public static partial void NodeRemoveFailed(ILogger logger, Exception exception, string nodeId);

    [LoggerMessage(504, LogLevel.Information, "Node {NodeId}: took back {Count} leases of its earlier process; their runs resume at once")]
    public static partial void LeasesRecovered(ILogger logger, int count, string nodeId);

    [LoggerMessage(505, LogLevel.Warning, "Node id {NodeId} is held by another live process; this one leases as {Owner} and reclaims nothing (give each process its own Baton:Engine:NodeId)")]
    public static partial void NodeIdInUse(ILogger logger, string nodeId, string owner);
}
