namespace Baton.Runs;

/// <summary>How a cancellation went.</summary>
public enum CancelRunOutcome
{
    /// <summary>The run was not executing; it is now <see cref="RunStatus.Cancelled"/>.</summary>
    Cancelled,
    /// <summary>The run is executing; the request was recorded and its worker cancels it.</summary>
    Requested,
    AlreadyFinished,
    NotFound,
}

/// <summary>How a retry went.</summary>
public enum RetryRunOutcome
{
    /// <summary>The run is runnable again and resumes at its failed step.</summary>
    Retried,
    /// <summary>The run is not in a state that can be retried (active, succeeded, compensated).</summary>
    NotRetryable,
    /// <summary>Another run holds the concurrency key.</summary>
    Conflict,
    NotFound,
}
