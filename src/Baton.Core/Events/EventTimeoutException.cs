namespace Baton.Events;

/// <summary>
/// A wait for an external event ended at its timeout with no event. Fails the run unless the workflow catches it;
/// a resumed run that had timed out gets it again at the same wait.
/// </summary>
public sealed class EventTimeoutException(string eventName, TimeSpan timeout)
    : TimeoutException($"no event '{eventName}' arrived within {timeout.TotalSeconds:0.###} s")
{
    /// <summary>The event's name.</summary>
    public string EventName { get; } = eventName;

    /// <summary>How long the run waited.</summary>
    public TimeSpan Timeout { get; } = timeout;

    /// <summary>The wait's step key (<c>event:{name}</c>, then <c>#2</c>...), when the engine threw it.</summary>
    public string? StepKey { get; internal init; }
}
