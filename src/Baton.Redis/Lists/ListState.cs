namespace Baton.Redis;

/// <summary>What a trigger knows of one list: when it is due, its backoffs, and whether it is being released.</summary>
internal sealed class ListState(string key)
{
    public string Key => key;

    public DateTimeOffset Due { get; set; }

    public TimeSpan IdleDelay { get; set; }

    public TimeSpan ErrorDelay { get; set; }

    public bool Running { get; set; }

    /// <summary>No longer configured nor discovered: its processing list goes back to the source, then the state is dropped.</summary>
    public bool Removed { get; set; }

    /// <summary>This process left a batch in the processing list (a conflict or a failure): offering it again is not news.</summary>
    public bool HoldsBatch { get; set; }

    /// <summary>
    /// The batch this process holds for a conflict: its id, its items as first offered (the strings the rejects refer to,
    /// so each dead item is matched back to its own bytes), the items the size limit set aside, and what the mapper made of
    /// the rest. Offering the same batch again reuses them instead of mapping (parsing) it every conflict delay.
    /// </summary>
    public (string BatchId, string[] Items, RejectedItem[] TooLarge, MappedBatch Mapped)? HeldMapping { get; set; }

    /// <summary>
    /// An acknowledgement that dead-lettered items, sent but not answered (the connection went away under it, a timeout):
    /// its token and those items. Before the next take (or the list's release) the acknowledgement record tells whether
    /// Redis carried it out: if it holds the token, it did, and those dead letters are logged and counted then.
    /// </summary>
    public (string Token, List<RejectedItem> Dead)? UnansweredAck { get; set; }

    /// <summary>The list's lease was found held by another consumer (or none) and no items were moved since (one log line per spell).</summary>
    public bool LeaseRefused { get; set; }

    /// <summary>A failure was logged for this list and no step has succeeded since (one log line per failure spell).</summary>
    public bool Faulted { get; set; }
}

/// <summary>How a step on a list ended, which decides when the list is due again.</summary>
internal enum StepResult
{
    /// <summary>A batch was handled: due again at once.</summary>
    Worked,

    /// <summary>Nothing to take: due after the idle backoff.</summary>
    Empty,

    /// <summary>A message was in conflict: the batch stays and is due after the conflict delay.</summary>
    Conflict,

    /// <summary>Redis or the inbox failed: due after the error backoff.</summary>
    Failed,

    /// <summary>A removed list was released: drop its state.</summary>
    Released,
}
