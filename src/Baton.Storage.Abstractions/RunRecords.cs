using Baton.Runs;

namespace Baton.Storage;

/// <summary>A run as the store holds it, lease included; users see it through the client as <c>Baton.Runs.RunInfo</c>.</summary>
public sealed record RunRecord
{
    public required string Id { get; init; }
    public required string Workflow { get; init; }
    public required RunStatus Status { get; init; }
    /// <summary>The input as JSON text, or null.</summary>
    public string? Input { get; init; }
    /// <summary>The output as JSON text, or null.</summary>
    public string? Output { get; init; }
    public string? Phase { get; init; }
    public IReadOnlyDictionary<string, long> Progress { get; init; } = EmptyProgress;
    public IReadOnlyList<RunError> Errors { get; init; } = [];
    public RunFailure? Failure { get; init; }
    public string? IdempotencyKey { get; init; }
    public string? ConcurrencyKey { get; init; }
    /// <summary>Active runs allowed for <see cref="ConcurrencyKey"/>.</summary>
    public int ConcurrencyLimit { get; init; } = 1;
    public string? ScheduleName { get; init; }
    public DateTimeOffset? ScheduledFireTime { get; init; }
    public string? CorrelationId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    /// <summary>The run is not claimed before this time (timers, delayed starts).</summary>
    public required DateTimeOffset RunAfter { get; init; }
    /// <summary>When the whole run times out, if it has a run timeout.</summary>
    public DateTimeOffset? DeadlineAt { get; init; }
    public string? LeaseOwner { get; init; }
    public DateTimeOffset? LeaseExpiresAt { get; init; }
    public bool CancelRequested { get; init; }
    /// <summary>How many times a worker has claimed this run (1 on the first execution).</summary>
    public int Executions { get; init; }
    /// <summary>The run that started this one as an awaited child, if any.</summary>
    public string? ParentRunId { get; init; }
    /// <summary>The version of the workflow's code that started this run; runs stored before versions existed read as 1.</summary>
    public int WorkflowVersion { get; init; } = 1;
    /// <summary>The W3C <c>traceparent</c> of the span that started the run, or null (none current, or stored before traces existed).</summary>
    public string? TraceParent { get; init; }
    /// <summary>The W3C <c>tracestate</c> that went with <see cref="TraceParent"/>, or null.</summary>
    public string? TraceState { get; init; }

    /// <summary>
    /// Set only on records returned by <see cref="IRunStore.ClaimRunsAsync"/>: the run was still leased to an
    /// owner whose lease had expired, so this claim is a takeover.
    /// </summary>
    public bool TakenOver { get; init; }

    internal static readonly IReadOnlyDictionary<string, long> EmptyProgress = new Dictionary<string, long>();
}

public sealed record CreateRunRequest
{
    public required string Id { get; init; }
    public required string Workflow { get; init; }
    public string? Input { get; init; }
    /// <summary>When set, a run with the same workflow and key is returned instead of a new one.</summary>
    public string? IdempotencyKey { get; init; }
    public string? ConcurrencyKey { get; init; }
    public int ConcurrencyLimit { get; init; } = 1;
    public string? ScheduleName { get; init; }
    /// <summary>With <see cref="ScheduleName"/>: at most one run is ever created per schedule and fire time.</summary>
    public DateTimeOffset? ScheduledFireTime { get; init; }
    public string? CorrelationId { get; init; }
    /// <summary>The run that starts this one as an awaited child; its end wakes that run.</summary>
    public string? ParentRunId { get; init; }
    /// <summary>The version of the workflow's code that starts this run (at least 1; default 1).</summary>
    public int WorkflowVersion { get; init; } = 1;
    /// <summary>The W3C <c>traceparent</c> of the span that starts the run; every execution of the run continues its trace. Null for none.</summary>
    public string? TraceParent { get; init; }
    /// <summary>The W3C <c>tracestate</c> that goes with <see cref="TraceParent"/>; null for none.</summary>
    public string? TraceState { get; init; }
    public required DateTimeOffset Now { get; init; }
    public DateTimeOffset? RunAfter { get; init; }
    public DateTimeOffset? DeadlineAt { get; init; }
    /// <summary>
    /// When set, a created run is claimed by this owner in the same write: running, executions 1, the lease
    /// until <see cref="LeaseExpiresAt"/>. The node that creates a run it can start at once skips the claim.
    /// An existing or conflicting run is returned unchanged.
    /// </summary>
    public string? LeaseOwner { get; init; }
    /// <summary>With <see cref="LeaseOwner"/>: when the lease ends unless renewed.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; init; }

    /// <summary>Throws if the request cannot be stored as it is; every store calls it before writing.</summary>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Id, "request.Id");
        ArgumentException.ThrowIfNullOrEmpty(Workflow, "request.Workflow");
        if (ConcurrencyLimit < 1)
        {
            throw new ArgumentOutOfRangeException("request", ConcurrencyLimit, "ConcurrencyLimit must be at least 1.");
        }

        if (WorkflowVersion < 1)
        {
            throw new ArgumentOutOfRangeException("request", WorkflowVersion, "WorkflowVersion must be at least 1.");
        }

        if ((LeaseOwner is null) != (LeaseExpiresAt is null))
        {
            throw new ArgumentException("LeaseOwner and LeaseExpiresAt are set together or not at all.", "request");
        }

        if (LeaseOwner is not null && (RunAfter ?? Now) > Now)
        {
            throw new ArgumentException("A run created with a lease must be due now (RunAfter at or before Now).", "request");
        }

        if (ConcurrencyKey is { Length: > RunLimits.MaxConcurrencyKeyLength })
        {
            throw new ArgumentException($"request.ConcurrencyKey is longer than {RunLimits.MaxConcurrencyKeyLength} characters.", "request.ConcurrencyKey");
        }

        // PostgreSQL text cannot hold U+0000; refused on every store, so both keep the same runs. (JSON input carries
        // the character escaped, never raw.)
        foreach (var (name, value) in (ReadOnlySpan<(string, string?)>)[
            ("request.Id", Id), ("request.Workflow", Workflow), ("request.Input", Input), ("request.IdempotencyKey", IdempotencyKey),
            ("request.ConcurrencyKey", ConcurrencyKey), ("request.ScheduleName", ScheduleName), ("request.CorrelationId", CorrelationId),
            ("request.LeaseOwner", LeaseOwner), ("request.ParentRunId", ParentRunId), ("request.TraceParent", TraceParent),
            ("request.TraceState", TraceState)])
        {
            if (value is not null && value.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException($"{name} holds the character U+0000, which a store cannot keep.", name);
            }
        }
    }
}

/// <summary>Runs to create in one store write (see <see cref="IRunStore.CreateRunsAsync"/>).</summary>
public sealed record CreateRunsRequest(IReadOnlyList<CreateRunRequest> Runs)
{
    /// <summary>Throws if any request cannot be stored as it is, or two share an id; every store calls it before writing.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Runs, "request.Runs");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var run in Runs)
        {
            ArgumentNullException.ThrowIfNull(run, "request.Runs[]");
            run.Validate();
            if (!ids.Add(run.Id))
            {
                throw new ArgumentException($"Run id '{run.Id}' appears twice in one batch.", "request");
            }
        }
    }
}

public enum CreateRunOutcome
{
    Created,
    /// <summary>The idempotency key (or schedule fire time) already named a run; it is returned.</summary>
    Existing,
    /// <summary>The concurrency key is at its limit; <see cref="CreateRunResult.Run"/> is an active run holding it.</summary>
    Conflict,
}

public sealed record CreateRunResult(CreateRunOutcome Outcome, RunRecord Run);

/// <summary>A page of <see cref="IRunStore.ListRunsAsync"/>: runs newest first and the cursor of the next page, if any.</summary>
public sealed record RunRecordPage(IReadOnlyList<RunRecord> Runs, string? NextCursor);

public sealed record ClaimRunsRequest
{
    public required string Owner { get; init; }
    public required int MaxRuns { get; init; }
    public required DateTimeOffset Now { get; init; }
    public required DateTimeOffset LeaseExpiresAt { get; init; }

    /// <summary>Claim only runs of these workflows (the ones the claiming node can execute); null claims any.</summary>
    public IReadOnlyCollection<string>? Workflows { get; init; }

    /// <summary>
    /// Claim only runs whose workflow and version are in this list, each as <c>name@version</c> (see
    /// <see cref="WorkflowVersionKey"/>); null claims any version. Applied on top of <see cref="Workflows"/>.
    /// </summary>
    public IReadOnlyCollection<string>? WorkflowVersions { get; init; }

    /// <summary>The <c>name@version</c> key of a workflow version, as <see cref="WorkflowVersions"/> lists it.</summary>
    public static string WorkflowVersionKey(string workflow, int version) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{workflow}@{version}");
}

public sealed record RenewLeasesRequest
{
    public required string Owner { get; init; }
    public required IReadOnlyCollection<string> RunIds { get; init; }
    public required DateTimeOffset Now { get; init; }
    public required DateTimeOffset LeaseExpiresAt { get; init; }
}

/// <param name="Lost">Runs no longer leased by the owner (taken over or finished elsewhere).</param>
/// <param name="CancelRequested">Runs still owned whose cancellation was requested.</param>
public sealed record RenewLeasesResult(IReadOnlyList<string> Lost, IReadOnlyList<string> CancelRequested);

public sealed record ReleaseLeaseRequest(string RunId, string Owner, DateTimeOffset Now);

/// <summary>
/// Writes a run's live state and, optionally, moves it to a new status. Applied only while
/// <see cref="Owner"/> holds the lease.
/// </summary>
public sealed record UpdateRunRequest
{
    public required string RunId { get; init; }
    public required string Owner { get; init; }
    public required DateTimeOffset Now { get; init; }
    /// <summary>New status, or null to keep the current one.</summary>
    public RunStatus? Status { get; init; }
    public string? Phase { get; init; }
    public IReadOnlyDictionary<string, long>? Progress { get; init; }
    public IReadOnlyList<RunError>? Errors { get; init; }
    public string? Output { get; init; }
    public RunFailure? Failure { get; init; }
    /// <summary>Set the run's RunAfter (used when suspending on a timer).</summary>
    public DateTimeOffset? RunAfter { get; init; }
    /// <summary>Clear the lease in the same write (terminal states, suspension).</summary>
    public bool ReleaseLease { get; init; }

    /// <summary>
    /// With <see cref="Status"/> <see cref="RunStatus.Suspended"/>: the names of the events the suspended run waits for
    /// (its event waits, and <c>baton.child.{id}</c> for its child waits). An event of one of these names makes it due at
    /// once; any other event is stored and waits for the run to reach it, which wakes the run no sooner than its
    /// <see cref="RunAfter"/>. Before, every event made a suspended run due: one in a retry wait or on a timer executed once
    /// per event only to suspend again. Null (and every suspension stored before): any event wakes it. Any other status
    /// clears the names.
    /// </summary>
    public IReadOnlyList<string>? WakesOn { get; init; }

    /// <summary>
    /// A step's final attempt end to store in the same transaction as this update, or null (the default). Both are
    /// fenced by the one lease check: either the run row, the attempt row and the step row are all written, or none
    /// is (the engine holds a step's end this way when the run's next write follows at once, e.g. the run ends right
    /// after its last step). Must name the same run and owner as the update, and set <c>StepStatus</c>; see
    /// <see cref="ThrowIfInvalid"/>.
    /// </summary>
    public AttemptEndedRequest? EndedAttempt { get; init; }

    /// <summary>
    /// A hint: after this write the caller does only brief bookkeeping that cannot block (the engine sets it on a run's
    /// final write when nothing of the user's runs after it: no span to end, no log line to write). A store whose
    /// writes are executed by one writer thread may then complete the write on that thread, which saves the caller a
    /// thread-pool hop; a store may ignore it. The default is false.
    /// </summary>
    public bool ContinuesBriefly { get; init; }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when <see cref="EndedAttempt"/> is set but does not belong to this update
    /// (another run or owner, no step key, no step status). Stores call it before writing anything.
    /// </summary>
    public void ThrowIfInvalid()
    {
        if (EndedAttempt is not { } ended)
        {
            return;
        }

        if (!string.Equals(ended.RunId, RunId, StringComparison.Ordinal) || !string.Equals(ended.Owner, Owner, StringComparison.Ordinal))
        {
            throw new ArgumentException($"the ended attempt is for run '{ended.RunId}' and owner '{ended.Owner}', not the updated run '{RunId}' and owner '{Owner}'", "request");
        }

        if (string.IsNullOrEmpty(ended.StepKey))
        {
            throw new ArgumentException("the ended attempt has no step key", "request");
        }

        if (ended.StepStatus is null)
        {
            throw new ArgumentException($"the ended attempt of step '{ended.StepKey}' has no step status: only a step's final attempt joins a run update", "request");
        }
    }
}

public sealed record CancelRunRequest(string RunId, DateTimeOffset Now);

public sealed record CancelRunRecordResult(CancelRunOutcome Outcome, RunRecord? Run);

public sealed record RetryRunRequest(string RunId, DateTimeOffset Now, DateTimeOffset? DeadlineAt)
{
    /// <summary>
    /// Runs retried in the same transaction as this one, and only if this one is (a store writes nothing when it is refused):
    /// the child runs whose end ended it, which its replay would otherwise find ended again. Each is retried as a run is, from
    /// a status that can be retried; one in another status is left as it is, and one whose concurrency key another run holds
    /// refuses the whole retry (<see cref="RetryRunOutcome.Conflict"/>, naming that holder).
    /// </summary>
    public IReadOnlyList<RetryRunRequest> With { get; init; } = [];
}

/// <summary>Which finished runs to delete (see <see cref="IRunStore.PruneRunsAsync"/>).</summary>
public sealed record PruneRunsRequest
{
    /// <summary>
    /// Only runs whose id sorts below this. Run ids are UUIDv7 in hex, so they sort by creation time and
    /// the bound lets a store walk its primary key from the oldest run up.
    /// </summary>
    public required string IdsBelow { get; init; }

    public required DateTimeOffset CompletedBefore { get; init; }

    public int MaxRuns { get; init; } = 1000;
}

public sealed record RetryRunRecordResult(RetryRunOutcome Outcome, RunRecord? Run);
