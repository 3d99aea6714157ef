using Baton.Storage;

namespace Baton.Runs;

/// <summary>The life-cycle state of a run.</summary>
public enum RunStatus
{
    /// <summary>Stored, waiting for a worker to claim it.</summary>
    Pending = 0,
    /// <summary>Claimed by a worker and executing.</summary>
    Running = 1,
    /// <summary>Waiting on a durable timer; runnable again at its <c>RunAfter</c> time.</summary>
    Suspended = 2,
    /// <summary>Failed or cancelled, running the compensations of its completed steps.</summary>
    Compensating = 3,
    Succeeded = 10,
    Failed = 11,
    Cancelled = 12,
    Compensated = 13,
    CompensationFailed = 14,
}

public static class RunStatusExtensions
{
    /// <summary>True for the states that count against a concurrency key's limit.</summary>
    public static bool IsActive(this RunStatus status) => status < RunStatus.Succeeded;

    public static bool IsTerminal(this RunStatus status) => status >= RunStatus.Succeeded;

    /// <summary>
    /// The status a retried run takes: failed and cancelled runs start again (<see cref="RunStatus.Pending"/>,
    /// resuming at the failed step); a run whose compensation failed compensates again; null when the
    /// run cannot be retried (active, succeeded or compensated).
    /// </summary>
    public static RunStatus? RetryTarget(this RunStatus status) => status switch
    {
        RunStatus.Failed or RunStatus.Cancelled => RunStatus.Pending,
        RunStatus.CompensationFailed => RunStatus.Compensating,
        _ => null,
    };

    /// <summary>
    /// The status <paramref name="run"/> takes when retried (<see cref="RetryTarget(RunStatus)"/>), or null: also null for a
    /// cancelled run whose compensations ran (its saga state <c>compensated</c>), like a compensated one, since a retry would
    /// go on from steps that were undone.
    /// </summary>
    public static RunStatus? RetryTarget(this RunRecord run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return run is { Status: RunStatus.Cancelled, Failure.SagaState: { } saga } && saga == RunStatus.Compensated.ToWireName()
            ? null
            : run.Status.RetryTarget();
    }

    /// <summary>Lower-case name used in JSON and URLs (e.g. <c>compensation_failed</c>).</summary>
    public static string ToWireName(this RunStatus status) => status switch
    {
        RunStatus.Pending => "pending",
        RunStatus.Running => "running",
        RunStatus.Suspended => "suspended",
        RunStatus.Compensating => "compensating",
        RunStatus.Succeeded => "succeeded",
        RunStatus.Failed => "failed",
        RunStatus.Cancelled => "cancelled",
        RunStatus.Compensated => "compensated",
        RunStatus.CompensationFailed => "compensation_failed",
        _ => status.ToString().ToLowerInvariant(),
    };

    public static bool TryParseWireName(string? value, out RunStatus status)
    {
        foreach (var candidate in Enum.GetValues<RunStatus>())
        {
            if (string.Equals(candidate.ToWireName(), value, StringComparison.OrdinalIgnoreCase))
            {
                status = candidate;
                return true;
            }
        }

        status = default;
        return false;
    }
}
