namespace Baton.Runs;

/// <summary>
/// Why a run ended badly. Rendered in the shape of seed 004's saga error:
/// <c>{"message": ..., "details": {"saga": {"step": ..., "state": ...}}}</c>.
/// </summary>
public sealed record RunFailure
{
    /// <summary>The <see cref="Message"/> of a run cancelled through the client or the API.</summary>
    public const string CancelledByRequestMessage = "cancelled by request";

    /// <summary>The failure of a run cancelled through the client or the API.</summary>
    public static RunFailure CancelledByRequest() => new() { Message = CancelledByRequestMessage };

    /// <summary>The root cause message (the failed step's last error, a timeout or a cancellation).</summary>
    public required string Message { get; init; }

    /// <summary>The .NET type name of the root cause exception, when there was one.</summary>
    public string? ErrorType { get; init; }

    /// <summary>
    /// For a run failed by children awaited together with <c>RunChildrenAsync</c>: every child of that call that failed, the
    /// one the message names first, which a retry of the run retries with it. Null for other failures (a retry then takes
    /// the child the message names, and the failed ones the run still waited for).
    /// </summary>
    public IReadOnlyList<string>? ChildRuns { get; init; }

    /// <summary>The step that failed, when a step failed.</summary>
    public string? Step { get; init; }

    /// <summary>
    /// The saga state: null when the run had nothing to compensate, otherwise
    /// <c>compensating</c>, <c>compensated</c> or <c>compensation_failed</c>.
    /// </summary>
    public string? SagaState { get; init; }

    /// <summary>The compensation that failed, when <see cref="SagaState"/> is <c>compensation_failed</c>.</summary>
    public string? CompensationStep { get; init; }

    /// <summary>The error of the failed compensation.</summary>
    public string? CompensationError { get; init; }
}
