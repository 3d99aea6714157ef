using Baton.Server.Views;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>The dashboard's read of a sync's dead letters: one keyset page from the product store (one row more than asked, to know whether another page follows).</summary>
internal sealed class CatalogDeadLetters(IProductStore store) : ICatalogDeadLetters
{
    /// <summary>The largest page.</summary>
    public const int MaxLimit = 500;

    public async Task<CatalogDeadLetterPage> ListAsync(string runId, long afterLine, int limit, CancellationToken cancellationToken = default)
    {
        limit = Math.Clamp(limit, 1, MaxLimit);
        var rows = await store.ReadDeadLettersAsync(runId, Math.Max(0, afterLine), limit + 1, cancellationToken).ConfigureAwait(false);
        return rows.Count > limit
            ? new CatalogDeadLetterPage([.. rows.Take(limit)], rows[limit - 1].Line)
            : new CatalogDeadLetterPage(rows, null);
    }
}
