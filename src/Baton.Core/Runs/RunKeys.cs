namespace Baton.Runs;

/// <summary>The checks a run's concurrency key passes wherever it comes from (a start's own, or the workflow's from its input).</summary>
internal static class RunKeys
{
    /// <summary>Why <paramref name="key"/> cannot be a concurrency key (a phrase to follow "the concurrency key "), or null when it can.</summary>
    public static string? ConcurrencyKeyProblem(string? key) =>
        key is null ? null
        : key.Length > RunLimits.MaxConcurrencyKeyLength ? $"is longer than {RunLimits.MaxConcurrencyKeyLength} characters"
        : StoredText.HasNul(key) ? "holds the character U+0000"
        : StoredText.HasHalfSurrogatePair(key) ? "holds " + StoredText.HalfSurrogatePair
        : null;
}
