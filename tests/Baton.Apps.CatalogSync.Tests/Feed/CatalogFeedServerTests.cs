using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Baton.Apps.CatalogSync.Tests.Infrastructure;
using Baton.Demo.CatalogFeed;

namespace Baton.Apps.CatalogSync.Tests.Feed;

/// <summary>The demo feed's prerendered mode (what the benchmark serves) answers the same bytes as the generated one.</summary>
public sealed class CatalogFeedServerTests
{
    [Fact]
    public async Task Serve_Prerendered_SameBytesAsGenerated()
    {
        await using var generated = await StartAsync(prerender: false);
        await using var prerendered = await StartAsync(prerender: true);

        var expected = await FetchAsync(generated, range: null);
        var body = await FetchAsync(prerendered, range: null);

        Assert.True(expected.Length > 1024 * 1024, $"the feed has {expected.Length} bytes: more than one write of the prerendered body");
        Assert.Equal(expected, body);
    }

    [Fact]
    public async Task Serve_PrerenderedWithRange_RestOfTheBodyWith206()
    {
        await using var prerendered = await StartAsync(prerender: true);
        var whole = prerendered.BodyBytes();
        const int from = 300_001;

        var rest = await FetchAsync(prerendered, range: from);

        Assert.Equal(whole[from..], rest);
    }

    private static Task<CatalogFeedServer> StartAsync(bool prerender) =>
        CatalogFeedServer.StartAsync(new CatalogFeedOptions { Products = 700, User = SyncHarness.FeedUser, Password = SyncHarness.FeedSecret, Prerender = prerender });

    private static async Task<byte[]> FetchAsync(CatalogFeedServer feed, long? range)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, feed.Url) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{SyncHarness.FeedUser}:{SyncHarness.FeedSecret}")));
        if (range is { } from)
        {
            request.Headers.Range = new RangeHeaderValue(from, null);
        }

        using var response = await http.SendAsync(request);
        Assert.Equal(range is null ? HttpStatusCode.OK : HttpStatusCode.PartialContent, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }
}
