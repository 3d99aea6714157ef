namespace Baton.Execution;

/// <summary>
/// Unwinds a workflow replayed only to collect the compensations of its completed steps: thrown at the
/// first step that had not completed. Workflow code should not catch it.
/// </summary>
internal sealed class CompensationReplayStop() : Exception("compensation replay reached the first incomplete step");

/// <summary>Unwinds a run that waits on a durable timer long enough to give its lease back.</summary>
internal sealed class SuspendRunException(DateTimeOffset wakeAt) : Exception($"suspended until {wakeAt:O}")
{
    public DateTimeOffset WakeAt { get; } = wakeAt;
}

/// <summary>The node lost the run's lease; the new owner carries on and this node stops writing.</summary>
internal sealed class LeaseLostException(string runId) : OperationCanceledException($"lease of run {runId} was lost");

/// <summary>A compensation registered by a completed step.</summary>
internal sealed record Compensation(string StepKey, Func<CancellationToken, Task> Action);
