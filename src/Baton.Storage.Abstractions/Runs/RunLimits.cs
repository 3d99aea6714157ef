namespace Baton.Runs;

/// <summary>Limits on runs that the engine, every store and the HTTP API apply alike.</summary>
public static class RunLimits
{
    /// <summary>The longest idempotency key a run accepts, in characters.</summary>
    public const int MaxIdempotencyKeyLength = 200;

    /// <summary>
    /// The longest concurrency key a run accepts, in characters: PostgreSQL indexes the key, and a B-tree entry holds at
    /// most 2,704 bytes (500 characters of UTF-8 with the run's id and time stay below it).
    /// </summary>
    public const int MaxConcurrencyKeyLength = 500;

    /// <summary>
    /// The longest step key the engine stores, in characters: a step's name (without the <c>#2</c> of a repeated call) or
    /// a fan-out item's whole key (<c>fanout/item</c>). PostgreSQL indexes the key with the run's id (a child run's also
    /// in its idempotency key) and refuses a B-tree entry over 2,704 bytes, as for <see cref="MaxConcurrencyKeyLength"/>.
    /// </summary>
    public const int MaxStepKeyLength = 500;

    /// <summary>The most runs one page of a run listing holds; a larger limit is clamped (store) or refused (HTTP).</summary>
    public const int MaxPageSize = 500;
}
