using Baton.Demo.CatalogFeed;

namespace Baton.Dashboard.Tests.Infrastructure;

/// <summary>The server environment that switches the catalog sync app on against a demo feed, its catalog and blobs in <c>directory</c>.</summary>
internal static class CatalogSyncEnvironment
{
    public static Dictionary<string, string?> For(CatalogFeedServer feed, string directory, int chunkSize, params (string Key, string Value)[] more)
    {
        var environment = new Dictionary<string, string?>
        {
            ["Baton__Apps__CatalogSync__Enabled"] = "true",
            ["MEDIPIM_API_URL"] = feed.Url.ToString(),
            ["MEDIPIM_API_KEY_ID"] = feed.Options.User,
            ["MEDIPIM_API_KEY_SECRET"] = feed.Options.Password,
            ["Baton__Apps__CatalogSync__ChunkSize"] = chunkSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Baton__Apps__CatalogSync__DatabasePath"] = Path.Combine(directory, "catalog.db"),
            ["Baton__Apps__CatalogSync__BlobDirectory"] = Path.Combine(directory, "feeds"),
        };
        foreach (var (key, value) in more)
        {
            environment[key] = value;
        }

        return environment;
    }
}
