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

    /// <summary>The most runs one page of a run listing holds; a larger limit is clamped (store) or refused (HTTP).</summary>
    public const int MaxPageSize = 500;
}
