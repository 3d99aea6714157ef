using Baton.Runs;

namespace Baton.Children;

/// <summary>An awaited child run ended without succeeding (failed, cancelled, compensated or timed out).</summary>
public sealed class ChildRunFailedException : Exception
{
    public ChildRunFailedException(string childRunId, RunStatus status, RunFailure? failure)
        : base($"child run {childRunId} ended {status.ToWireName()}: {failure?.Message ?? "no failure recorded"}")
    {
        ChildRunId = childRunId;
        Status = status;
        Failure = failure;
    }

    /// <summary>The child run's id.</summary>
    public string ChildRunId { get; }

    /// <summary>How the child ended.</summary>
    public RunStatus Status { get; }

    /// <summary>The child's failure as its run shows it, or null.</summary>
    public RunFailure? Failure { get; }
}
