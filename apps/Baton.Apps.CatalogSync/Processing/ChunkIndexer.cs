using System.Security.Cryptography;
using Baton.Apps.CatalogSync.Blobs;
using Baton.Apps.CatalogSync.Fetch;
using Baton.Retries;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>One chunk: the lines [FirstLine, FirstLine + Lines) at bytes [Start, End) of the feed file.</summary>
/// <param name="FirstLine">1-based number of its first line in the file.</param>
public sealed record ChunkRange(int Index, long Start, long End, long FirstLine, int Lines);

/// <summary>The index step's stored result.</summary>
public sealed record FeedIndex(long Lines, IReadOnlyList<ChunkRange> Chunks);

/// <summary>
/// One pass over the committed feed file: checks its length and SHA-256 against what the fetch step
/// recorded (so a file changed or cut since is never processed) and cuts it into chunks of
/// <c>chunkSize</c> lines at newline byte offsets.
/// </summary>
internal sealed class ChunkIndexer(IBlobStore blobs)
{
    public async Task<FeedIndex> IndexAsync(FeedFile file, int chunkSize, CancellationToken cancellationToken)
    {
        var chunks = new List<ChunkRange>();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var stream = await blobs.OpenReadAsync(file.Blob, 0, null, cancellationToken).ConfigureAwait(false);
        var buffer = new byte[1 << 20];
        long position = 0, lines = 0, chunkStart = 0, chunkFirstLine = 1;
        var chunkLines = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            sha.AppendData(buffer, 0, read);
            var span = buffer.AsSpan(0, read);
            var at = 0;
            int next;
            while ((next = span[at..].IndexOf((byte)'\n')) >= 0)
            {
                at += next + 1;
                lines++;
                if (++chunkLines == chunkSize)
                {
                    var end = position + at;
                    chunks.Add(new ChunkRange(chunks.Count, chunkStart, end, chunkFirstLine, chunkLines));
                    chunkStart = end;
                    chunkFirstLine = lines + 1;
                    chunkLines = 0;
                }
            }

            position += read;
        }

        if (position != file.Length || Convert.ToHexStringLower(sha.GetHashAndReset()) != file.Sha256)
        {
            throw new NonRetryableException($"the stored feed file {file.Blob} does not match the fetched one (length {position}, expected {file.Length}, or its SHA-256 differs); start a new sync");
        }

        if (position > chunkStart)
        {
            // The last line may have no newline (a feed that omits it, or a truncated line).
            lines++;
            chunks.Add(new ChunkRange(chunks.Count, chunkStart, position, chunkFirstLine, chunkLines + 1));
        }

        return new FeedIndex(lines, chunks);
    }
}
