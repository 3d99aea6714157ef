using System.IO.Hashing;
using Baton.Apps.CatalogSync.Blobs;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>Reads through to an inner stream and takes the XXH128 checksum and count of the bytes read.</summary>
internal sealed class HashingReadStream(Stream inner) : ReadThroughStream(inner)
{
    private readonly XxHash128 _hash = new();

    public long BytesRead { get; private set; }

    /// <summary>The XXH128 of everything read so far (<see cref="ChunkRange.Checksum"/> is its lower-case hex).</summary>
    public byte[] Hash() => _hash.GetCurrentHash();

    protected override void Took(ReadOnlySpan<byte> bytes)
    {
        _hash.Append(bytes);
        BytesRead += bytes.Length;
    }
}
