namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// One chunk's bytes, read from the feed file in one piece: its lines are parsed, scanned and written as
/// slices of it, with no copy per line and no line buffer beside it. The arrays are kept for the next chunk
/// in a small pool of the process's own (at most <see cref="Retained"/>), not the shared
/// <c>ArrayPool</c>, whose per-thread caches left a 2 MiB line buffer (and before that a 16 MiB arena)
/// behind on many thread-pool threads: the large-object heap grew through a sync to 70 MB. They are
/// allocated uninitialized and rounded to 1 MiB, so only the bytes a chunk really uses become resident.
/// A chunk bigger than <see cref="MaxBytes"/> (lines near <c>MaxLineBytes</c>) is read line by line instead.
/// </summary>
internal sealed class ChunkBuffer : IDisposable
{
    /// <summary>The biggest chunk read in one piece (32 MiB; a chunk of 5,000 lines of the feed is about 11 MiB).</summary>
    public const int MaxBytes = 32 * 1024 * 1024;

    /// <summary>Arrays kept between chunks: the default parallelism's worth.</summary>
    public const int Retained = 2;

    private const int Granularity = 1024 * 1024;
    private static readonly List<byte[]> Pool = [];

    private byte[]? _array;

    private ChunkBuffer(byte[] array, int length)
    {
        _array = array;
        Length = length;
    }

    /// <summary>The chunk's length in bytes.</summary>
    public int Length { get; }

    /// <summary>The buffer, <see cref="Length"/> bytes of it for the chunk.</summary>
    public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(ChunkBuffer));

    /// <summary>A buffer of at least <paramref name="length"/> bytes, or null when the chunk is bigger than <see cref="MaxBytes"/>.</summary>
    public static ChunkBuffer? TryRent(long length)
    {
        if (length is < 0 or > MaxBytes)
        {
            return null;
        }

        var size = (int)length;
        lock (Pool)
        {
            var fit = Pool.FindIndex(a => a.Length >= size);
            if (fit >= 0)
            {
                var array = Pool[fit];
                Pool.RemoveAt(fit);
                return new ChunkBuffer(array, size);
            }
        }

        var rounded = (int)Math.Min(MaxBytes, ((long)size + Granularity - 1) / Granularity * Granularity);
        return new ChunkBuffer(GC.AllocateUninitializedArray<byte>(Math.Max(rounded, Granularity)), size);
    }

    public void Dispose()
    {
        var array = _array;
        _array = null;
        if (array is null)
        {
            return;
        }

        lock (Pool)
        {
            if (Pool.Count < Retained)
            {
                Pool.Add(array);
                return;
            }

            // Keep the bigger arrays: the next chunks fit them.
            var smallest = 0;
            for (var i = 1; i < Pool.Count; i++)
            {
                smallest = Pool[i].Length < Pool[smallest].Length ? i : smallest;
            }

            if (Pool[smallest].Length < array.Length)
            {
                Pool[smallest] = array;
            }
        }
    }
}
