namespace Baton.Events;

/// <summary>An event sent to a run, as users see it.</summary>
public sealed record EventInfo
{
    public required string Name { get; init; }
    /// <summary>The order in which the run's events were stored (larger is later).</summary>
    public required long Sequence { get; init; }
    public required DateTimeOffset StoredAt { get; init; }
    /// <summary>True once a wait of the run has taken it.</summary>
    public bool Consumed => ConsumedAt is not null;
    public DateTimeOffset? ConsumedAt { get; init; }
}

public enum EventSendOutcome
{
    /// <summary>The event is stored (durably, before the call returned).</summary>
    Stored,
    /// <summary>The idempotency key was already used for this run; the event stored then is returned, nothing new.</summary>
    Existing,
    RunNotFound,
    /// <summary>The run has finished; nothing was stored.</summary>
    RunFinished,
    /// <summary>The name, key or payload is not acceptable; <see cref="EventSendResult.Error"/> says why, nothing was stored.</summary>
    Invalid,
    /// <summary>
    /// The idempotency key was already used for this run's event of another name; <see cref="EventSendResult.Event"/> is that
    /// event, and nothing was stored for this one.
    /// </summary>
    KeyUsedForAnotherEvent,
}

/// <summary>How a send went, with the stored event when there is one.</summary>
public sealed record EventSendResult(EventSendOutcome Outcome, EventInfo? Event, string? Error = null);
