namespace Baton.Server.Views;

/// <summary>One line a catalog sync set aside: where it is in the feed and why.</summary>
/// <param name="Line">The 1-based line number in the feed.</param>
/// <param name="ByteOffset">The line's byte offset in the feed file.</param>
/// <param name="Reason">Why the line was set aside.</param>
/// <param name="Chunk">The chunk that read the line.</param>
/// <param name="Head">The line's first 200 bytes, decoded as UTF-8 (invalid bytes replaced).</param>
public sealed record CatalogDeadLetter(long Line, long ByteOffset, string Reason, int Chunk, string Head);

/// <summary>One page of a sync's dead letters in line order.</summary>
/// <param name="Items">At most the requested number of dead letters.</param>
/// <param name="NextAfterLine">The cursor of the next page (pass as <c>afterLine</c>), or null when this is the last page.</param>
public sealed record CatalogDeadLetterPage(IReadOnlyList<CatalogDeadLetter> Items, long? NextAfterLine);

/// <summary>
/// Read access to the catalog sync app's dead letters, for the dashboard (registered by the catalog sync app
/// when it is enabled; absent otherwise). Keyset-paged by line: never loads all of a run's dead letters.
/// </summary>
public interface ICatalogDeadLetters
{
    /// <summary>
    /// The dead letters of <paramref name="runId"/> with a line number greater than <paramref name="afterLine"/>
    /// (0 for the first page), in line order, at most <paramref name="limit"/> (clamped to 1..500).
    /// </summary>
    Task<CatalogDeadLetterPage> ListAsync(string runId, long afterLine, int limit, CancellationToken cancellationToken = default);
}
