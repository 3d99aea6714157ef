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
public sealed class RunTimeoutException(TimeSpan timeout)
    : TimeoutException($"run timed out after {timeout.TotalSeconds:0.###} s");
