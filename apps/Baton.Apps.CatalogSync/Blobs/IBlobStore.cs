namespace Baton.Apps.CatalogSync.Blobs;

/// <summary>
/// Where fetched feed files live. A blob is written as a partial blob (appendable, so a broken download
/// resumes where it stopped) and then committed, atomically, as a complete one. The local filesystem is the default; an S3-compatible store can implement the
/// same contract (multipart upload for the partial, complete-upload for the commit, ranged GET for reads,
/// <see cref="CanReadWhileWriting"/> false).
/// </summary>
public interface IBlobStore
{
    /// <summary>The length of the complete blob, or null if it does not exist.</summary>
    Task<long?> GetLengthAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Bytes already in the partial blob (0 if none).</summary>
    Task<long> GetPartialLengthAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Opens the partial blob for appending; <paramref name="restart"/> empties it first.</summary>
    Task<Stream> OpenPartialAsync(string name, bool restart, CancellationToken cancellationToken = default);

    /// <summary>Makes the partial blob the complete blob (durably, replacing any older one).</summary>
    Task CommitAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether <see cref="OpenReadAsync"/> can read bytes of a blob still being written (flushed bytes of its
    /// partial). When true, chunks are processed while the feed downloads; when false (e.g. an S3 multipart
    /// upload, whose parts cannot be read before the upload completes), only after the commit.
    /// </summary>
    bool CanReadWhileWriting { get; }

    /// <summary>
    /// Reads <paramref name="length"/> bytes (null: to the end) from <paramref name="offset"/> of the complete
    /// blob, or, while it is being written and <see cref="CanReadWhileWriting"/>, of its partial. A blob that is
    /// neither is a <see cref="BlobNotFoundException"/>.
    /// </summary>
    Task<Stream> OpenReadAsync(string name, long offset, long? length, CancellationToken cancellationToken = default);

    /// <summary>
    /// Keeps a short note with the partial blob (what it is a download of), until the partial is emptied, committed or
    /// deleted. Opening the partial with <c>restart</c> removes the note, so a note never outlives the bytes it describes.
    /// </summary>
    Task SetPartialNoteAsync(string name, string note, CancellationToken cancellationToken = default);

    /// <summary>The note kept with the partial blob, or null.</summary>
    Task<string?> GetPartialNoteAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Deletes the blob and its partial, if any.</summary>
    Task DeleteAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Deletes the partial blob only, if any (a complete blob of that name stays).</summary>
    Task DeletePartialAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every blob there is, complete or partial, with the bytes of each.</summary>
    Task<IReadOnlyList<BlobEntry>> ListAsync(CancellationToken cancellationToken = default);
}

/// <summary>A blob in <see cref="IBlobStore.ListAsync"/>: the length of its complete form (null if none) and of its partial (0 if none).</summary>
public sealed record BlobEntry(string Name, long? Length, long PartialLength);
