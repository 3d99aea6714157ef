namespace Baton.Apps.CatalogSync.Blobs;

/// <summary>
/// Blobs as files under one directory; the partial blob is <c>name.part</c>, committed with an atomic rename.
/// A reader of a blob still being written reads its partial; an open reader keeps reading the same file across the rename.
/// The partial's note is <c>name.part.note</c>, removed before the partial (a partial without its note is safe to have:
/// the download starts over) and after a commit.
/// </summary>
internal sealed class LocalBlobStore(string directory) : IBlobStore
{
    public string Directory { get; } = directory;

    public Task<long?> GetLengthAsync(string name, CancellationToken cancellationToken = default)
    {
        var file = new FileInfo(PathOf(name));
        return Task.FromResult(file.Exists ? file.Length : (long?)null);
    }

    public Task<long> GetPartialLengthAsync(string name, CancellationToken cancellationToken = default)
    {
        var file = new FileInfo(PartOf(name));
        return Task.FromResult(file.Exists ? file.Length : 0);
    }

    public Task<Stream> OpenPartialAsync(string name, bool restart, CancellationToken cancellationToken = default)
    {
        var path = PartOf(name);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (restart)
        {
            File.Delete(NoteOf(name));
        }

        // Not FileOptions.Asynchronous: the downloader writes synchronously into the page cache (an async write is a thread-pool hop).
        Stream stream = new FileStream(path, restart ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
        return Task.FromResult(stream);
    }

    public Task CommitAsync(string name, CancellationToken cancellationToken = default)
    {
        File.Move(PartOf(name), PathOf(name), overwrite: true);
        File.Delete(NoteOf(name));
        return Task.CompletedTask;
    }

    public async Task SetPartialNoteAsync(string name, string note, CancellationToken cancellationToken = default)
    {
        System.IO.Directory.CreateDirectory(Directory);
        await File.WriteAllTextAsync(NoteOf(name), note, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string?> GetPartialNoteAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            return await File.ReadAllTextAsync(NoteOf(name), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public bool CanReadWhileWriting => true;

    public Task<Stream> OpenReadAsync(string name, long offset, long? length, CancellationToken cancellationToken = default)
    {
        var file = Open(PathOf(name)) ?? Open(PartOf(name)) ?? Open(PathOf(name))
            ?? throw new BlobNotFoundException(name, PathOf(name));
        file.Seek(offset, SeekOrigin.Begin);
        Stream stream = length is { } l ? new RangeStream(file, l) : file;
        return Task.FromResult(stream);
    }

    /// <summary>The file, or null if it does not exist (the partial may be committed between two tries: the caller tries the blob again).</summary>
    private static FileStream? Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        File.Delete(NoteOf(name));
        File.Delete(PathOf(name));
        File.Delete(PartOf(name));
        return Task.CompletedTask;
    }

    public Task DeletePartialAsync(string name, CancellationToken cancellationToken = default)
    {
        File.Delete(NoteOf(name));
        File.Delete(PartOf(name));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<BlobEntry>> ListAsync(CancellationToken cancellationToken = default)
    {
        var directory = new DirectoryInfo(Directory);
        if (!directory.Exists)
        {
            return Task.FromResult<IReadOnlyList<BlobEntry>>([]);
        }

        var entries = new SortedDictionary<string, BlobEntry>(StringComparer.Ordinal);
        foreach (var file in directory.EnumerateFiles())
        {
            if (file.Name.EndsWith(NoteSuffix, StringComparison.Ordinal))
            {
                // Part of its partial blob, removed with it; listed on its own once its files are gone (deleted by hand), so
                // a cleanup of partial blobs removes it too.
                var of = file.Name[..^NoteSuffix.Length];
                entries.TryAdd(of, new BlobEntry(of, null, 0));
                continue;
            }

            var partial = file.Name.EndsWith(".part", StringComparison.Ordinal);
            var name = partial ? file.Name[..^".part".Length] : file.Name;
            var entry = entries.GetValueOrDefault(name) ?? new BlobEntry(name, null, 0);
            entries[name] = partial ? entry with { PartialLength = file.Length } : entry with { Length = file.Length };
        }

        return Task.FromResult<IReadOnlyList<BlobEntry>>([.. entries.Values]);
    }

    private string PathOf(string name)
    {
        if (name.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(name))
        {
            throw new ArgumentException($"blob name '{name}' must be a relative name without '..'", nameof(name));
        }

        return Path.Combine(Directory, name);
    }

    private const string NoteSuffix = ".part.note";

    private string PartOf(string name) => PathOf(name) + ".part";

    private string NoteOf(string name) => PathOf(name) + NoteSuffix;

    /// <summary>At most <c>length</c> bytes of the inner stream.</summary>
    private sealed class RangeStream(Stream inner, long length) : ReadThroughStream(inner)
    {
        private long _left = length;

        protected override int Limit(int requested) => (int)Math.Min(requested, _left);

        protected override void Took(ReadOnlySpan<byte> bytes) => _left -= bytes.Length;
    }
}
