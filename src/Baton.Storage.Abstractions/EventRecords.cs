namespace Baton.Storage;

/// <summary>
/// External events sent to runs. An event is stored for its run whether or not the run waits for it yet; a wait
/// consumes the oldest unconsumed event of its name, once.
/// </summary>
public interface IEventStore
{
    /// <summary>
    /// Stores an event for an active run and, if the run is suspended, makes it due at <c>Now</c> (announcing it to
    /// other nodes where the store can). With an idempotency key already stored for the run, returns that event.
    /// </summary>
    Task<SendEventResult> SendEventAsync(SendEventRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes the event for the wait <c>StepKey</c>: the one this step consumed before (a resumed run gets the same
    /// event), else the oldest unconsumed event of the name, marked consumed by the step. Applied only while
    /// <c>Owner</c> holds the run's lease.
    /// </summary>
    Task<ConsumeEventResult> ConsumeEventAsync(ConsumeEventRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes a suspended run without a lease due at <c>Now</c> if an unconsumed event of the name is stored for it;
    /// true when it did. Closes the race of an event stored while the run was suspending.
    /// </summary>
    Task<bool> WakeIfEventStoredAsync(WakeIfEventStoredRequest request, CancellationToken cancellationToken = default);

    /// <summary>The run's events in the order they were stored.</summary>
    Task<IReadOnlyList<EventRecord>> GetEventsAsync(string runId, CancellationToken cancellationToken = default);
}

/// <summary>One stored event.</summary>
public sealed record EventRecord
{
    public required string RunId { get; init; }
    /// <summary>The store's order of events: larger was stored later.</summary>
    public required long Sequence { get; init; }
    public required string Name { get; init; }
    /// <summary>The payload as JSON text, or null.</summary>
    public string? Payload { get; init; }
    public string? IdempotencyKey { get; init; }
    public required DateTimeOffset StoredAt { get; init; }
    public DateTimeOffset? ConsumedAt { get; init; }
    /// <summary>The key of the wait step that consumed it.</summary>
    public string? ConsumedBy { get; init; }
}

public sealed record SendEventRequest
{
    public required string RunId { get; init; }
    public required string Name { get; init; }
    public string? Payload { get; init; }
    public string? IdempotencyKey { get; init; }
    public required DateTimeOffset Now { get; init; }
}

public enum SendEventOutcome
{
    Stored,
    /// <summary>The idempotency key was already stored for the run; <see cref="SendEventResult.Event"/> is that event.</summary>
    Existing,
    RunNotFound,
    RunFinished,
}

public sealed record SendEventResult(SendEventOutcome Outcome, EventRecord? Event);

public sealed record ConsumeEventRequest
{
    public required string RunId { get; init; }
    public required string Owner { get; init; }
    public required string Name { get; init; }
    public required string StepKey { get; init; }
    public required DateTimeOffset Now { get; init; }

    /// <summary>
    /// Only an event stored at or before this time is taken (a wait's deadline: an event stored after it, while no node ran
    /// the run, is not the one the wait waited for); null takes any. An event this step took before is returned either way.
    /// </summary>
    public DateTimeOffset? StoredBy { get; init; }
}

/// <summary>How a consume went: <see cref="LeaseHeld"/> false means nothing was read or written.</summary>
public sealed record ConsumeEventResult(bool LeaseHeld, EventRecord? Event);

public sealed record WakeIfEventStoredRequest
{
    public required string RunId { get; init; }
    public required string Name { get; init; }
    public required DateTimeOffset Now { get; init; }
}
