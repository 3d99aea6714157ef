using Baton.Runs;

namespace Baton.Children;

/// <summary>An awaited child run ended without succeeding (failed, cancelled, compensated or timed out).</summary>
public sealed class ChildRunFailedException : Exception
{
    public ChildRunFailedException(string childRunId, RunStatus status, RunFailure? failure)
        : this(childRunId, status, failure, [])
    {
    }

    private ChildRunFailedException(string childRunId, RunStatus status, RunFailure? failure, IReadOnlyList<string> alsoFailed)
        : base($"{MessagePrefix(childRunId)}{status.ToWireName()}: {failure?.Message ?? "no failure recorded"}"
            + (alsoFailed.Count == 0 ? "" : $" (and {alsoFailed.Count} more children of the same call failed: {string.Join(", ", alsoFailed)})"))
    {
        ChildRunId = childRunId;
        Status = status;
        Failure = failure;
        AlsoFailed = alsoFailed;
    }

    /// <summary>This failure, for a call that awaited several children, naming the others of the call that failed too.</summary>
    internal ChildRunFailedException With(IReadOnlyList<string> alsoFailed) => new(ChildRunId, Status, Failure, alsoFailed);

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

    /// <summary>
    /// The other children of the same <c>RunChildrenAsync</c> call that failed, in the call's order (empty for one child):
    /// a retry of a run that failed with this exception retries them all.
    /// </summary>
    public IReadOnlyList<string> AlsoFailed { get; }
}
