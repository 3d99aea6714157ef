namespace Baton.Runs;

/// <summary>
/// A run as users of the engine see it: its state, progress and outcome, without the store's lease
/// internals (owner, expiry, takeover), which belong to the workers.
/// </summary>
public sealed record RunInfo
{
    public required string Id { get; init; }
    public required string Workflow { get; init; }
    public required RunStatus Status { get; init; }
    /// <summary>The input as JSON text, or null.</summary>
    public string? Input { get; init; }
    /// <summary>The output as JSON text, or null.</summary>
    public string? Output { get; init; }
    /// <summary>What the run says it is doing (<c>IWorkflowContext.SetPhase</c>).</summary>
    public string? Phase { get; init; }
    /// <summary>The run's progress counters by name.</summary>
    public required IReadOnlyDictionary<string, long> Progress { get; init; }
    /// <summary>The run's bounded list of errors it went on after.</summary>
    public required IReadOnlyList<RunError> Errors { get; init; }
    /// <summary>Why the run ended badly, or null.</summary>
    public RunFailure? Failure { get; init; }
    public string? IdempotencyKey { get; init; }
    public string? ConcurrencyKey { get; init; }
    /// <summary>Active runs allowed for <see cref="ConcurrencyKey"/>.</summary>
    public int ConcurrencyLimit { get; init; }
    /// <summary>The schedule that started the run, if one did.</summary>
    public string? ScheduleName { get; init; }
    public DateTimeOffset? ScheduledFireTime { get; init; }
    public string? CorrelationId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    /// <summary>The run does not execute before this time (timers, delayed starts).</summary>
    public required DateTimeOffset RunAfter { get; init; }
    /// <summary>When the whole run times out, if it has a run timeout.</summary>
    public DateTimeOffset? DeadlineAt { get; init; }
    /// <summary>A cancellation was requested and the run's worker has not acted on it yet.</summary>
    public bool CancelRequested { get; init; }
    /// <summary>How many times a worker has started or resumed the run (1 on the first execution).</summary>
    public int Executions { get; init; }
    /// <summary>The run that started this one as an awaited child (<c>IWorkflowContext.RunChildAsync</c>), or null.</summary>
    public string? ParentRunId { get; init; }
    /// <summary>The version of the workflow's code that started the run (<c>WorkflowOptions.Version</c>); 1 for runs stored before versions existed.</summary>
    public int WorkflowVersion { get; init; } = 1;
    /// <summary>The W3C <c>traceparent</c> of the span that started the run (its executions' spans are its children), or null.</summary>
    public string? TraceParent { get; init; }
    /// <summary>The W3C <c>tracestate</c> stored with <see cref="TraceParent"/>, or null.</summary>
    public string? TraceState { get; init; }
}

/// <summary>A step of a run: its latest state and result.</summary>
public sealed record StepInfo
{
    public required string Key { get; init; }
    public required StepKind Kind { get; init; }
    public required StepStatus Status { get; init; }
    /// <summary>The result as JSON text (succeeded steps), or null.</summary>
    public string? Result { get; init; }
    public string? Error { get; init; }
    public string? ErrorType { get; init; }
    /// <summary>Attempts made so far.</summary>
    public int Attempts { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
}

/// <summary>One attempt of a step.</summary>
public sealed record StepAttemptInfo
{
    public required string StepKey { get; init; }
    /// <summary>1 for the first attempt.</summary>
    public required int Attempt { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public required AttemptOutcome Outcome { get; init; }
    public string? ErrorType { get; init; }
    public string? ErrorMessage { get; init; }
    /// <summary>A failed attempt's next attempt is due then (a retry policy's delay or a <c>RetryAfterException</c>'s wait); null otherwise and for attempts stored before it was kept.</summary>
    public DateTimeOffset? RetryAt { get; init; }
}
