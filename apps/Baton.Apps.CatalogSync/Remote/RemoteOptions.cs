namespace Baton.Apps.CatalogSync.Remote;

/// <summary>
/// Remote mode (<c>Baton:Apps:CatalogSync:Mode = Remote</c>): the workflow drives the seed's existing Fetcher
/// and Maintainer services over HTTP instead of fetching and upserting in-process. Defaults are the seed's.
/// </summary>
public sealed class RemoteOptions
{
    /// <summary>The Fetcher's base URL. The default is <c>http://127.0.0.1:{FETCHER_PORT or 3001}</c>.</summary>
    public string? FetcherUrl { get; set; }

    /// <summary>The Maintainer's base URL. The default is <c>http://127.0.0.1:{MAINTAINER_PORT or 3002}</c>.</summary>
    public string? MaintainerUrl { get; set; }

    /// <summary>The <c>X-ADMIN-KEY</c> sent to both. The default is the server's own <c>ADMIN_KEY</c> (the seeds share one). Never logged.</summary>
    public string? AdminKey { get; set; }

    /// <summary>Records per Maintainer call (<c>limit</c>). The default is 5,000 (the seed's).</summary>
    public int ChunkSize { get; set; } = 5_000;

    /// <summary>Attempts per call, the first included. The default is 4 (the seed's 3 retries).</summary>
    public int Attempts { get; set; } = 4;

    /// <summary>Delay before the first retry, doubled each time. The default is 5 seconds (the seed's).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time limit of the Fetcher call. The default is 30 minutes (the seed's).</summary>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Time limit of one Maintainer call. The default is 10 minutes (the seed's).</summary>
    public TimeSpan ChunkTimeout { get; set; } = TimeSpan.FromMinutes(10);
}
