using System.Collections.Concurrent;
using System.Globalization;
using Baton.Apps.CatalogSync.Processing;

namespace Baton.Apps.CatalogSync.Fetch;

/// <summary>
/// What one sync's download has to stay true to, kept across the fetch step's attempts in this process: the chunks it
/// handed out while downloading (being read from the partial file, so those bytes must not change under them), and the
/// feed's strong ETag and length from its first answer, sent as <c>If-Range</c> and checked when a broken download
/// resumes. The ETag and length are also kept in the partial file's note (<see cref="Note"/>), so a resume in another
/// execution (after a crash, a retry, on a node sharing the blob directory) checks the same. The chunks the run has applied
/// are read from the product store at the start of each attempt (<see cref="LoadAppliedAsync"/>: a crash or another node
/// does not lose them).
/// </summary>
internal sealed class DownloadLedger(Func<CancellationToken, Task<IReadOnlyDictionary<int, string?>>> applied)
{
    private readonly ConcurrentDictionary<int, ChunkRange> _handedOut = new();
    private IReadOnlyDictionary<int, string?> _applied = new Dictionary<int, string?>();

    /// <summary>A ledger for a download that nothing has been applied from (one that checks the whole file itself).</summary>
    public static DownloadLedger Empty() => new(static _ => Task.FromResult<IReadOnlyDictionary<int, string?>>(new Dictionary<int, string?>()));

    /// <summary>The first answer's strong ETag, as sent back in <c>If-Range</c>.</summary>
    public string? Validator { get; private set; }

    /// <summary>The feed's length as the first answer gave it.</summary>
    public long? Length { get; private set; }

    /// <summary>Whether this execution had the first answer of the partial file's download (else what it knows came from the note).</summary>
    public bool AnsweredHere { get; private set; }

    /// <summary>The note kept with the partial file: the length, then the ETag, one per line (either may be empty).</summary>
    public string Note => $"{Length}\n{Validator}";

    /// <summary>Records the first answer of a download from byte 0.</summary>
    public void Answered(string? validator, long? length) => (Validator, Length, AnsweredHere) = (validator, length, true);

    /// <summary>Takes the validator and length from a partial file's note; false when the note has no validator to resume with.</summary>
    public bool TryTakeNote(string? note)
    {
        var parts = note?.Split('\n', 2);
        if (parts is not [var length, { Length: > 0 } validator])
        {
            return false;
        }

        (Validator, Length) = (validator, long.TryParse(length, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null);
        return true;
    }

    /// <summary>Whether any chunk was handed out for processing in this process.</summary>
    public bool AnyHandedOut => !_handedOut.IsEmpty;

    /// <summary>Records a chunk as handed out; false if the same chunk already was (it is not handed out twice).</summary>
    public bool HandOut(ChunkRange chunk) => _handedOut.TryAdd(chunk.Index, chunk);

    /// <summary>Reads the chunks this run applied, by index, with their checksums (null when stored by an older version): once per attempt.</summary>
    public async Task LoadAppliedAsync(CancellationToken cancellationToken) => _applied = await applied(cancellationToken).ConfigureAwait(false);

    /// <summary>Whether a chunk this run applied has no checksum to compare a new download with (applied by an older version).</summary>
    public bool AnyAppliedWithoutChecksum => _applied.Values.Any(static checksum => checksum is null);

    /// <summary>
    /// Throws <see cref="FeedChangedException"/> if the run applied a chunk past the <paramref name="chunks"/> this download
    /// cut: a new export that ends sooner (products gone from it), whose chunks would all compare equal while the old
    /// export's later chunks stayed applied.
    /// </summary>
    public void CheckEnd(int chunks)
    {
        var appliedChunks = _applied;
        var beyond = appliedChunks.Keys.Where(index => index >= chunks).ToList();
        if (beyond.Count > 0)
        {
            throw new FeedChangedException(string.Create(
                CultureInfo.InvariantCulture,
                $"the feed changed while this sync ran: downloaded again it has {chunks} chunks, and this sync already applied chunk {beyond.Min()} of the bytes it took from the feed before{FeedChangedException.Tail}"));
        }
    }

    /// <summary>
    /// Throws <see cref="FeedChangedException"/> if <paramref name="chunk"/>, as this download cut it, differs from the chunk
    /// of the same index that this run handed out or applied from an earlier download of the feed.
    /// </summary>
    public void Check(ChunkRange chunk)
    {
        var appliedChunks = _applied;
        string? before = null;
        var known = false;
        if (_handedOut.TryGetValue(chunk.Index, out var handed))
        {
            known = true;
            before = handed.Start == chunk.Start && handed.End == chunk.End ? handed.Checksum : "(other bytes)";
        }
        else if (appliedChunks.TryGetValue(chunk.Index, out var stored))
        {
            known = stored is not null;
            before = stored;
        }

        if (known && chunk.Checksum is not null && !string.Equals(before, chunk.Checksum, StringComparison.Ordinal))
        {
            throw FeedChangedException.ChunkDiffers(chunk, before);
        }
    }
}

/// <summary>
/// The feed served other bytes for part of the file this sync had already taken from it (a new export between a broken
/// download and its retry, or between a node's download and another node's). Not retried: the sync cannot finish from one
/// version of the feed, and a new sync can.
/// </summary>
public sealed class FeedChangedException(string message) : Retries.NonRetryableException(message)
{
    /// <summary>What every such failure ends with: the other cause, and what to do.</summary>
    internal const string Tail = " (or Baton:Apps:CatalogSync:ChunkSize changed since this sync began, which cuts other chunks). "
        + "The chunks applied stay; start a new sync, which applies the feed as it is now";

    /// <summary>
    /// Chunk <paramref name="chunk"/> of the feed file as it is now differs from the chunk of that index this run took from
    /// the feed before (handed out or applied), whose checksum was <paramref name="before"/>.
    /// </summary>
    internal static FeedChangedException ChunkDiffers(ChunkRange chunk, string? before) => new(string.Create(
        CultureInfo.InvariantCulture,
        $"the feed changed while this sync ran: chunk {chunk.Index} (lines {chunk.FirstLine}-{chunk.FirstLine + chunk.Lines - 1}) of the feed file has XXH128 {chunk.Checksum}, the chunk this sync took from the feed before had {before}{Tail}"));
}
