using System.Text.Json;
using Baton.Events;

namespace Baton.Runs;

/// <summary>Starts, reads and controls runs. The HTTP API and the seed apps are written against this.</summary>
public interface IBatonClient
{
    /// <summary>
    /// Validates the input against the workflow's input type and stores a new run (durably, before
    /// returning). With an idempotency key an existing run is returned instead; with a concurrency key
    /// at its limit the start is refused with <see cref="StartRunOutcome.Conflict"/>.
    /// </summary>
    Task<StartRunResult> StartRunAsync(StartRunRequest request, CancellationToken cancellationToken = default);

    /// <summary>The run with its steps and their attempts, or null.</summary>
    Task<RunDetails?> GetRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The run's status, phase, progress, input, output and failure without its steps, attempts, events and children
    /// (one read of the run), or null: what to poll while a run moves, since a run's details grow with its steps.
    /// </summary>
    Task<RunInfo?> GetRunInfoAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Runs newest first, filtered, one page at a time (at most <see cref="RunLimits.MaxPageSize"/>).</summary>
    Task<RunPage> ListRunsAsync(ListRunsRequest request, CancellationToken cancellationToken = default);

    /// <summary>How many runs are in each state, optionally for one workflow and some states only; one query.</summary>
    Task<RunCounts> CountRunsAsync(CountRunsRequest request, CancellationToken cancellationToken = default);

    /// <summary>Cancels a run: at once if it is not executing, otherwise by cancelling the running step's token.</summary>
    Task<CancelRunResult> CancelRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Makes a failed or cancelled run runnable again; it resumes at the step that failed.</summary>
    Task<RetryRunResult> RetryRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores an external event named <paramref name="name"/> for the run (durably, before returning) and makes a
    /// run waiting for it runnable at once. The run's <c>WaitForEventAsync</c> takes events of one name once each,
    /// oldest first; one sent before the run waits is kept for it. With an <paramref name="idempotencyKey"/> already
    /// used for this run, the event stored then is returned and nothing new is stored.
    /// </summary>
    Task<EventSendResult> SendEventAsync(
        string runId, string name, JsonElement? payload, string? idempotencyKey = null, CancellationToken cancellationToken = default);
}

public sealed record StartRunRequest
{
    public required string Workflow { get; init; }
    /// <summary>The input; null or <c>JsonValueKind.Undefined</c> for none.</summary>
    public JsonElement? Input { get; init; }
    public string? IdempotencyKey { get; init; }
    /// <summary>Overrides the concurrency key the workflow derives from its input.</summary>
    public string? ConcurrencyKey { get; init; }
    public string? CorrelationId { get; init; }
    /// <summary>Do not run before this time; default now.</summary>
    public DateTimeOffset? RunAfter { get; init; }
}

public enum StartRunOutcome
{
    Created,
    /// <summary>The idempotency key already named a run; that run is returned.</summary>
    Existing,
    /// <summary>The concurrency key is at its limit; <see cref="StartRunResult.Run"/> is the active run.</summary>
    Conflict,
    UnknownWorkflow,
    /// <summary>The input does not match the workflow's input type; <see cref="StartRunResult.Error"/> says why.</summary>
    InvalidInput,
}

public sealed record StartRunResult(StartRunOutcome Outcome, RunInfo? Run, string? Error = null);

/// <summary>A run with its steps and attempts.</summary>
public sealed record RunDetails(RunInfo Run, IReadOnlyList<StepInfo> Steps, IReadOnlyList<StepAttemptInfo> Attempts)
{
    /// <summary>The events sent to the run, in the order they were stored.</summary>
    public IReadOnlyList<EventInfo> Events { get; init; } = [];

    /// <summary>The runs this run started as awaited children, newest first (at most the first 500).</summary>
    public IReadOnlyList<ChildRunInfo> Children { get; init; } = [];

    /// <summary>
    /// When the run has more children than <see cref="Children"/> lists, the cursor of the next page of
    /// <c>ListRunsAsync</c> with <c>ParentRunId</c> set to this run; else null.
    /// </summary>
    public string? ChildrenNextCursor { get; init; }
}

/// <summary>A child run as its parent's details list it.</summary>
public sealed record ChildRunInfo(string Id, string Workflow, RunStatus Status);

/// <summary>A page of runs, newest first, and the cursor of the next page (null on the last).</summary>
public sealed record RunPage(IReadOnlyList<RunInfo> Runs, string? NextCursor);

/// <summary>How a cancellation went, with the run as it is now (null when not found).</summary>
public sealed record CancelRunResult(CancelRunOutcome Outcome, RunInfo? Run);

/// <summary>How a retry went, with the run as it is now (the active run holding the key on a conflict).</summary>
public sealed record RetryRunResult(RetryRunOutcome Outcome, RunInfo? Run);
