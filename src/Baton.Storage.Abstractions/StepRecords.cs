using Baton.Runs;

namespace Baton.Storage;

public sealed record StepRecord
{
    public required string RunId { get; init; }
    public required string Key { get; init; }
    public required StepKind Kind { get; init; }
    public required StepStatus Status { get; init; }
    /// <summary>The result as JSON text (Succeeded), or null.</summary>
    public string? Result { get; init; }
    public string? Error { get; init; }
    public string? ErrorType { get; init; }
    /// <summary>Attempts made so far.</summary>
    public int Attempts { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
}

public sealed record StepAttemptRecord
{
    public required string RunId { get; init; }
    public required string StepKey { get; init; }
    public required int Attempt { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public required AttemptOutcome Outcome { get; init; }
    public string? ErrorType { get; init; }
    public string? ErrorMessage { get; init; }
    /// <summary>
    /// When the next attempt is due, for a failed attempt that is to be retried (the policy's backoff, or a longer wait a
    /// <c>RetryAfterException</c> asked for); null otherwise, and for attempts stored before it was kept.
    /// </summary>
    public DateTimeOffset? RetryAt { get; init; }
}

/// <summary>Records that an attempt began; creates the step row on its first attempt.</summary>
public sealed record AttemptStartedRequest
{
    public required string RunId { get; init; }
    public required string Owner { get; init; }
    public required string StepKey { get; init; }
    public required StepKind Kind { get; init; }
    public required int Attempt { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
}

/// <summary>
/// Records how an attempt ended. With <see cref="StepStatus"/> set it also finishes the step
/// (result or error). Applied only while <see cref="Owner"/> holds the run's lease.
/// </summary>
public sealed record AttemptEndedRequest
{
    public required string RunId { get; init; }
    public required string Owner { get; init; }
    public required string StepKey { get; init; }
    public required StepKind Kind { get; init; }
    public required int Attempt { get; init; }
    /// <summary>When the attempt began (the step row is created from it if the start record was lost).</summary>
    public required DateTimeOffset StartedAt { get; init; }
    public required DateTimeOffset EndedAt { get; init; }
    public required AttemptOutcome Outcome { get; init; }
    public string? ErrorType { get; init; }
    public string? ErrorMessage { get; init; }
    /// <summary>The step's new status, or null while it will be retried.</summary>
    public StepStatus? StepStatus { get; init; }
    public string? Result { get; init; }
    /// <summary>When the next attempt is due, for a failed attempt that is to be retried; stored with the attempt.</summary>
    public DateTimeOffset? RetryAt { get; init; }
}
