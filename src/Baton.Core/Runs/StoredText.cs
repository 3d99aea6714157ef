namespace Baton.Runs;

/// <summary>
/// Text the engine stores from what user code hands it (exception messages, reported errors, phase, counter names)
/// with every U+0000 replaced by U+FFFD. PostgreSQL text and jsonb cannot hold U+0000 (its store rejects such a
/// value before sending it), SQLite can: replacing it where the engine builds the value keeps a failing step's
/// failure storable and makes both stores keep the same text.
/// </summary>
internal static class StoredText
{
    /// <summary><paramref name="text"/> with U+0000 replaced by U+FFFD; the same instance when it has none.</summary>
    public static string Clean(string text) => text.Contains('\0', StringComparison.Ordinal) ? text.Replace('\0', '\uFFFD') : text;

    /// <summary>
    /// True when <paramref name="text"/> holds U+0000. Creates refuse such ids and keys on every store, so a run id or
    /// filter holding one names nothing: the client answers "not found" or an empty page without asking the store.
    /// </summary>
    public static bool HasNul(string? text) => text is not null && text.Contains('\0', StringComparison.Ordinal);

    /// <summary>
    /// True when <paramref name="text"/> holds half a surrogate pair (U+D800-U+DFFF without its other half), which is not
    /// text: PostgreSQL's driver cannot encode it and throws. Ids and keys the engine takes from outside are refused with it.
    /// </summary>
    public static bool HasHalfSurrogatePair(string? text)
    {
        if (text is null || text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when <paramref name="text"/> holds U+0000 or half a surrogate pair: no store holds such an id or key (creates
    /// refuse it), so a lookup by it names nothing and the client answers "not found" or an empty page without asking the
    /// store (PostgreSQL's driver would throw at the bind).
    /// </summary>
    public static bool NamesNothing(string? text) => HasNul(text) || HasHalfSurrogatePair(text);

    /// <summary>How an error names half a surrogate pair.</summary>
    public const string HalfSurrogatePair = "half a surrogate pair (\\uD800-\\uDFFF without its other half), which is not text";

    /// <inheritdoc cref="Clean(string)"/>
    public static string? CleanOrNull(string? text) => text is null ? null : Clean(text);
}
