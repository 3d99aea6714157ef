namespace Baton.Workers;

/// <summary>The node lost the run's lease; the new owner carries on and this node stops writing.</summary>
internal sealed class LeaseLostException(string runId) : OperationCanceledException($"lease of run {runId} was lost");
