using Baton.Runs;

namespace Baton.Storage;

/// <summary>Runs: creation (idempotency, concurrency limits), claiming with leases, live state, control.</summary>
public interface IRunStore
{
    Task<CreateRunResult> CreateRunAsync(CreateRunRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates many runs in one transaction, each as <see cref="CreateRunAsync"/> would, in the order given: a
    /// later request sees the runs of the earlier ones (a repeated idempotency key is <c>Existing</c>, a concurrency
    /// key filled earlier in the batch is a <c>Conflict</c>). One result per request, in the same order. Every
    /// request is validated before anything is written: one bad request stores none.
    /// </summary>
    Task<IReadOnlyList<CreateRunResult>> CreateRunsAsync(CreateRunsRequest request, CancellationToken cancellationToken = default);

    Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Runs newest first, filtered, one page at a time.</summary>
    Task<RunRecordPage> ListRunsAsync(ListRunsRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Counts runs per state in one statement, filtered by workflow and states; for gauges and health
    /// answers that would otherwise page through every run.
    /// </summary>
    Task<RunCounts> CountRunsAsync(CountRunsRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases up to <c>MaxRuns</c> runnable runs to the owner: active runs whose <c>RunAfter</c> has come
    /// and whose lease is free or expired. Pending and suspended runs become <see cref="RunStatus.Running"/>;
    /// compensating runs stay compensating. Each claim increments <see cref="RunRecord.Executions"/>.
    /// </summary>
    Task<IReadOnlyList<RunRecord>> ClaimRunsAsync(ClaimRunsRequest request, CancellationToken cancellationToken = default);

    Task<RenewLeasesResult> RenewLeasesAsync(RenewLeasesRequest request, CancellationToken cancellationToken = default);

    /// <summary>Gives a lease back without changing the run's status, so any node can claim it at once.</summary>
    Task<bool> ReleaseLeaseAsync(ReleaseLeaseRequest request, CancellationToken cancellationToken = default);

    /// <summary>Applies the update if the owner still holds the lease; false otherwise.</summary>
    Task<bool> UpdateRunAsync(UpdateRunRequest request, CancellationToken cancellationToken = default);

    Task<CancelRunRecordResult> CancelRunAsync(CancelRunRequest request, CancellationToken cancellationToken = default);

    Task<RetryRunRecordResult> RetryRunAsync(RetryRunRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes up to <c>MaxRuns</c> finished runs, with their steps and attempts, whose id sorts below
    /// <c>IdsBelow</c> and which completed before <c>CompletedBefore</c>, oldest first. Active runs are
    /// never deleted. Returns how many were deleted.
    /// </summary>
    Task<int> PruneRunsAsync(PruneRunsRequest request, CancellationToken cancellationToken = default);
}

/// <summary>Steps and their attempts.</summary>
public interface IStepStore
{
    Task<IReadOnlyList<StepRecord>> GetStepsAsync(string runId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<StepAttemptRecord>> GetAttemptsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Records an attempt's start. Returns false if the owner no longer holds the lease.</summary>
    Task<bool> RecordAttemptStartedAsync(AttemptStartedRequest request, CancellationToken cancellationToken = default);

    /// <summary>Records an attempt's end and, optionally, the step's outcome. False if the lease was lost.</summary>
    Task<bool> RecordAttemptEndedAsync(AttemptEndedRequest request, CancellationToken cancellationToken = default);
}

/// <summary>Cron schedules and their fire records.</summary>
public interface IScheduleStore
{
    /// <summary>
    /// Creates the schedule or replaces the one of that name, and says which in the same write: of any number of
    /// concurrent upserts of a name that does not exist, exactly one reports <see cref="UpsertScheduleResult.Created"/>.
    /// </summary>
    Task<UpsertScheduleResult> UpsertScheduleAsync(UpsertScheduleRequest request, CancellationToken cancellationToken = default);

    Task<ScheduleRecord?> GetScheduleAsync(string name, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(CancellationToken cancellationToken = default);

    Task<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Enables or disables a stored schedule and changes nothing else of it, in one write. Null, and nothing written, when no
    /// schedule of that name has the workflow, cron and time zone the request was made from (deleted or replaced since it
    /// was read): a toggle never brings a deleted schedule back nor writes an older definition over a newer one.
    /// </summary>
    Task<ScheduleRecord?> SetScheduleEnabledAsync(SetScheduleEnabledRequest request, CancellationToken cancellationToken = default);

    /// <summary>Enabled schedules whose next fire time is at or before <c>Now</c>.</summary>
    Task<IReadOnlyList<ScheduleRecord>> GetDueSchedulesAsync(DueSchedulesRequest request, CancellationToken cancellationToken = default);

    Task<FireScheduleResult> FireScheduleAsync(FireScheduleRequest request, CancellationToken cancellationToken = default);

    /// <summary>Deletes up to <c>MaxFires</c> fire records whose fire time is before <c>FiredBefore</c>; returns how many.</summary>
    Task<int> PruneFiresAsync(PruneFiresRequest request, CancellationToken cancellationToken = default);
}

/// <summary>The node registry: every node records itself with a heartbeat and removes itself on a clean shutdown.</summary>
public interface INodeStore
{
    Task HeartbeatNodeAsync(NodeHeartbeatRequest request, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<NodeRecord>> ListNodesAsync(ListNodesRequest request, CancellationToken cancellationToken = default);

    /// <summary>True when the node was recorded.</summary>
    Task<bool> RemoveNodeAsync(RemoveNodeRequest request, CancellationToken cancellationToken = default);

    /// <summary>Returns the number of nodes removed.</summary>
    Task<int> PruneNodesAsync(PruneNodesRequest request, CancellationToken cancellationToken = default);
}

/// <summary>
/// A store: the five aggregates plus start-up and a readiness probe. This is the API for store authors,
/// not for users of the engine: apps and hosts read runs through <c>Baton.Runs.IBatonClient</c> and its
/// views, which carry no lease internals. A store passes the suite in <c>tests/Baton.Storage.Conformance</c>.
/// </summary>
public interface IBatonStore
{
    IRunStore Runs { get; }

    IStepStore Steps { get; }

    IScheduleStore Schedules { get; }

    INodeStore Nodes { get; }

    IEventStore Events { get; }

    /// <summary>Creates or migrates the schema. Safe to call more than once.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Throws if the store cannot be reached.</summary>
    Task PingAsync(CancellationToken cancellationToken = default);
}
