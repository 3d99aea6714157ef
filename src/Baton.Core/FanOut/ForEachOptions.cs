namespace Baton.Steps;

// The public fan-out types keep the Baton.Steps namespace they were published in, so workflow code needs no new using.

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
public sealed record ItemResult<T>(string Key, bool Succeeded, T? Value, string? Error)
{
    /// <summary>
    /// The full name of the type of the exception that set the item aside (as stored with its step), or null: what to tell
    /// one failure from another by, rather than <see cref="Error"/>'s text.
    /// </summary>
    public string? ErrorType { get; init; }
}
