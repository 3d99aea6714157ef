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

/// <summary>What a fan-out does when an item fails for good.</summary>
public enum ItemFailurePolicy
{
    /// <summary>The fan-out stops, items in flight are cancelled and the step fails the run. The default.</summary>
    FailRun = 0,
    /// <summary>The item is recorded as dead-lettered and the others go on.</summary>
    DeadLetter = 1,
}

/// <summary>How a fan-out runs.</summary>
public sealed record ForEachOptions
{
    /// <summary>Items running at once. The default is 4.</summary>
    public int MaxParallelism { get; init; } = 4;

    public ItemFailurePolicy OnItemFailure { get; init; } = ItemFailurePolicy.FailRun;

    /// <summary>Retry policy and timeout of each item.</summary>
    public StepOptions? Step { get; init; }
}

/// <summary>The outcome of one fan-out item.</summary>
public sealed record ItemResult<T>(string Key, bool Succeeded, T? Value, string? Error);
