namespace Baton.Apps.CatalogSync.Fetch;

/// <summary>A complete feed file in the blob store and its chunks (the fetch step's stored result).</summary>
/// <param name="Blob">Its name in the blob store.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of its bytes.</param>
/// <param name="Requests">HTTP requests the download took (more than 1 after resumes).</param>
/// <param name="Resumed">Whether a Range request continued an earlier partial download.</param>
/// <param name="Lines">Lines in the file (a last line without a newline included).</param>
/// <param name="Chunks">The file cut into chunks at newline offsets, each with the SHA-256 of its bytes.</param>
public sealed record FeedFile(string Blob, long Length, string Sha256, int Requests, bool Resumed, long Lines, IReadOnlyList<Processing.ChunkRange> Chunks);

/// <summary>The feed answered something that is not the catalog (401, 5xx, HTML, a broken stream). Retried by the fetch step's policy.</summary>
public sealed class FeedException(string message, Exception? inner = null) : Exception(message, inner);
