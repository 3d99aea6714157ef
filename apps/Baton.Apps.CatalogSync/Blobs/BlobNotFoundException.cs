namespace Baton.Apps.CatalogSync.Blobs;

/// <summary>
/// A blob that does not exist (complete or partial): the feed file was removed under a sync. A fan-out item set aside by
/// it carries this type's name (<c>ItemResult.ErrorType</c>), which is how the sync tells a removed file from bad data.
/// </summary>
public sealed class BlobNotFoundException(string blob, string path) : FileNotFoundException($"blob '{blob}' does not exist", path)
{
    public string Blob { get; } = blob;
}
