namespace Baton.Steps;

/// <summary>A step failed for good (no attempts left, or a non-retryable error). Fails the run unless caught.</summary>
public sealed class StepFailedException : Exception
{
    public StepFailedException(string stepKey, string message, string? errorType, Exception? inner = null)
        : base(message, inner)
    {
        StepKey = stepKey;
        ErrorType = errorType;
    }

    public string StepKey { get; }

    public string? ErrorType { get; }
}

/// <summary>An attempt ran past its time limit; its token was cancelled.</summary>
public sealed class StepTimeoutException(string stepKey, TimeSpan timeout)
    : TimeoutException($"step '{stepKey}' timed out after {timeout.TotalSeconds:0.###} s")
{
    public string StepKey { get; } = stepKey;
}

/// <summary>The whole run passed its run timeout.</summary>
public sealed class RunTimeoutException : TimeoutException
{
    public RunTimeoutException(TimeSpan timeout)
        : base($"run timed out after {timeout.TotalSeconds:0.###} s")
    {
    }

    /// <summary>
    /// A run past the deadline it is stored with, told by that deadline: what held it, whatever <c>RunTimeout</c> the code
    /// that executes it has (a v1 run executed by v2 code with another <c>RunTimeout</c>, a run retried on another node).
    /// </summary>
    public RunTimeoutException(DateTimeOffset deadline, DateTimeOffset createdAt)
        : base(string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"run timed out: its deadline {deadline.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fff}Z passed, {(deadline - createdAt).TotalSeconds:0.###} s after the run was created"))
    {
        Deadline = deadline;
    }

    /// <summary>The deadline the run passed; null when made from a timeout length alone.</summary>
    public DateTimeOffset? Deadline { get; }
}
