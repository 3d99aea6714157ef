namespace Baton.Timers;

/// <summary>
/// Unwinds a run that waits on a durable timer (or an external event) long enough to give its lease back.
/// </summary>
internal sealed class SuspendRunException(DateTimeOffset wakeAt, string? eventName = null) : Exception($"suspended until {wakeAt:O}")
{
    public DateTimeOffset WakeAt { get; } = wakeAt;

    /// <summary>The event the run waits for, if any: once suspended, the executor checks it did not arrive meanwhile.</summary>
    public string? EventName { get; } = eventName;
}
