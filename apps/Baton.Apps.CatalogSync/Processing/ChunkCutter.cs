using System.IO.Hashing;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>One chunk: the lines [FirstLine, FirstLine + Lines) at bytes [Start, End) of the feed file, and a checksum of those bytes.</summary>
/// <param name="FirstLine">1-based number of its first line in the file.</param>
/// <param name="Checksum">
/// Lower-case hex XXH128 of the chunk's bytes as they were downloaded; the processor checks what it reads
/// against it. The check is against accidental change (a file cut short, overwritten, corrupted), so a fast
/// non-cryptographic hash does; the whole file's SHA-256 is still taken once. Null in a chunk stored by a
/// version that recorded a SHA-256 instead: such a chunk is checked by its length only.
/// </param>
public sealed record ChunkRange(int Index, long Start, long End, long FirstLine, int Lines, string? Checksum);

/// <summary>
/// Cuts a feed into chunks of <c>chunkSize</c> lines at newline byte offsets as its bytes go by, in order:
/// while it downloads (so a chunk can be processed as soon as its last byte is stored) or in one pass over
/// a stored file. Each chunk carries the XXH128 checksum of its bytes.
/// </summary>
internal sealed class ChunkCutter(int chunkSize)
{
    private readonly XxHash128 _hash = new();
    private readonly List<ChunkRange> _chunks = [];
    private long _position;
    private long _lines;
    private long _chunkStart;
    private long _chunkFirstLine = 1;
    private int _chunkLines;
    private byte _last = (byte)'\n';

    /// <summary>Every chunk cut so far, in order.</summary>
    public IReadOnlyList<ChunkRange> Chunks => _chunks;

    /// <summary>Lines seen so far (a last line without a newline counts once <see cref="Finish"/> is called).</summary>
    public long Lines => _lines;

    public long Position => _position;

    /// <summary>Takes the next bytes of the feed; returns how many chunks they completed (the newest in <see cref="Chunks"/>).</summary>
    public int Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return 0;
        }

        var completed = 0;
        var segment = 0;
        var at = 0;
        int next;
        while ((next = bytes[at..].IndexOf((byte)'\n')) >= 0)
        {
            at += next + 1;
            _lines++;
            if (++_chunkLines == chunkSize)
            {
                _hash.Append(bytes[segment..at]);
                segment = at;
                Cut(_position + at);
                completed++;
            }
        }

        _hash.Append(bytes[segment..]);
        _position += bytes.Length;
        _last = bytes[^1];
        return completed;
    }

    /// <summary>Ends the feed: the bytes after the last full chunk become the last chunk. Returns the number of chunks.</summary>
    public int Finish()
    {
        if (_position > _chunkStart)
        {
            if (_last != (byte)'\n')
            {
                // The last line has no newline (a feed that omits it, or a truncated line): it is a line all the same.
                _lines++;
                _chunkLines++;
            }

            Cut(_position);
        }

        return _chunks.Count;
    }

    private void Cut(long end)
    {
        _chunks.Add(new ChunkRange(_chunks.Count, _chunkStart, end, _chunkFirstLine, _chunkLines, Convert.ToHexStringLower(_hash.GetHashAndReset())));
        _chunkStart = end;
        _chunkFirstLine = _lines + 1;
        _chunkLines = 0;
    }
}
