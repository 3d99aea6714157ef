namespace Baton.Runs;

/// <summary>Limits on runs that the engine, every store and the HTTP API apply alike.</summary>
public static class RunLimits
{
    /// <summary>The longest idempotency key a run accepts, in characters.</summary>
    public const int MaxIdempotencyKeyLength = 200;

    /// <summary>The most runs one page of a run listing holds; a larger limit is clamped (store) or refused (HTTP).</summary>
    public const int MaxPageSize = 500;
}
