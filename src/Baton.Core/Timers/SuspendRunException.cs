namespace Baton.Timers;

/// <summary>Unwinds a run that waits on a durable timer long enough to give its lease back.</summary>
internal sealed class SuspendRunException(DateTimeOffset wakeAt) : Exception($"suspended until {wakeAt:O}")
{
    public DateTimeOffset WakeAt { get; } = wakeAt;
}
