using System.Security.Cryptography;
using Baton.Apps.CatalogSync.Blobs;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>Reads through to an inner stream and takes the SHA-256 and count of the bytes read.</summary>
internal sealed class HashingReadStream(Stream inner) : ReadThroughStream(inner)
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesRead { get; private set; }

    /// <summary>Lower-case hex SHA-256 of everything read so far.</summary>
    public string Sha256() => Convert.ToHexStringLower(_hash.GetCurrentHash());

    protected override void Took(ReadOnlySpan<byte> bytes)
    {
        _hash.AppendData(bytes);
        BytesRead += bytes.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }
}
