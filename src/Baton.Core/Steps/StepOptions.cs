using Baton.Retries;

namespace Baton.Steps;

/// <summary>How one step runs.</summary>
public sealed record StepOptions
{
    /// <summary>The retry policy; null uses the workflow's default (<see cref="RetryPolicy.Default"/> unless set).</summary>
    public RetryPolicy? Retry { get; init; }

    /// <summary>
    /// Time limit of one attempt. When it passes, the attempt's token is cancelled and the attempt
    /// counts as failed (and may be retried). Null uses the workflow's default (none).
    /// </summary>
    public TimeSpan? Timeout { get; init; }
}
