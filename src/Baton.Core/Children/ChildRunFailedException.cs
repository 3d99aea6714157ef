using Baton.Runs;

namespace Baton.Children;

/// <summary>An awaited child run ended without succeeding (failed, cancelled, compensated or timed out).</summary>
public sealed class ChildRunFailedException : Exception
{
    public ChildRunFailedException(string childRunId, RunStatus status, RunFailure? failure)
        : base($"{MessagePrefix(childRunId)}{status.ToWireName()}: {failure?.Message ?? "no failure recorded"}")
    {
        ChildRunId = childRunId;
        Status = status;
        Failure = failure;
    }

    /// <summary>
    /// How the message of a failure by child <paramref name="childRunId"/> begins: a parent that failed with it names its child
    /// in its stored failure (type and message), which is how a retry of the parent finds the child to retry with it.
    /// </summary>
    internal static string MessagePrefix(string childRunId) => $"child run {childRunId} ended ";

    /// <summary>The child run's id.</summary>
    public string ChildRunId { get; }

    /// <summary>How the child ended.</summary>
    public RunStatus Status { get; }

    /// <summary>The child's failure as its run shows it, or null.</summary>
    public RunFailure? Failure { get; }
}
