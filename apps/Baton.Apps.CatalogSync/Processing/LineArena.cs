using System.Buffers;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// Keeps the lines of one chunk in one rented buffer until the chunk is applied, instead of one array per
/// line (a chunk of 5,000 lines of ~2 KB made 5,000 allocations the GC had to clear and collect). A chunk
/// bigger than the pool's largest buffer falls back to an array per line.
/// </summary>
internal sealed class LineArena : IDisposable
{
    private const int MaxBuffer = 32 * 1024 * 1024;
    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(MaxBuffer, maxArraysPerBucket: 2);

    private byte[]? _buffer;
    private int _used;

    /// <param name="bytes">An upper bound of the bytes to keep (the chunk's length).</param>
    public LineArena(long bytes)
    {
        _buffer = bytes is > 0 and <= MaxBuffer ? Pool.Rent((int)bytes) : null;
    }

    /// <summary>A copy of <paramref name="line"/> that lives until the arena is disposed.</summary>
    public ReadOnlyMemory<byte> Keep(ReadOnlySpan<byte> line)
    {
        if (_buffer is null || _buffer.Length - _used < line.Length)
        {
            return line.ToArray();
        }

        line.CopyTo(_buffer.AsSpan(_used));
        var kept = _buffer.AsMemory(_used, line.Length);
        _used += line.Length;
        return kept;
    }

    public void Dispose()
    {
        if (_buffer is not null)
        {
            Pool.Return(_buffer);
            _buffer = null;
        }
    }
}
