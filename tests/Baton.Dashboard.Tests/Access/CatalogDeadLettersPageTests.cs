using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Baton.Dashboard.Tests.Infrastructure;
using Baton.Demo.CatalogFeed;

namespace Baton.Dashboard.Tests.Access;

/// <summary>The catalog sync page's dead letters (read from the app's product store) over plain HTTP against the real server (SQLite).</summary>
public sealed partial class CatalogDeadLettersPageTests
{
    private const string FeedUser = "medipim-key-id-dl";
    private const string FeedSecret = "medipim-secret-dl-7a04";
    private const int BadLines = 60;

    [Fact]
    public async Task CatalogSyncPage_FeedWithMalformedLines_ShowsDeadLettersWithLineOffsetAndReasonPaged()
    {
        var options = new CatalogFeedOptions { Products = 300, User = FeedUser, Password = FeedSecret };
        for (var i = 0; i < BadLines; i++)
        {
            options.BadLines.Add(new BadLine(i * 5, BadLineKind.InvalidJson));
        }

        await using var feed = await CatalogFeedServer.StartAsync(options);
        var body = feed.BodyBytes();
        var directory = TestPaths.NewTempDirectory();
        await using var server = await DashboardServer.StartAsync(extra: CatalogSyncEnvironment.For(feed, directory, 100));
        await server.StartCatalogSyncAsync();

        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();
        var first = await Poll.UntilAsync(
            () => client.GetStringAsync("/ui/apps/catalog-sync"),
            html => html.Contains("status-succeeded\">succeeded", StringComparison.Ordinal),
            "the sync to succeed",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(200));
        var firstRows = Rows(first);
        var next = NextLink().Match(first);
        Assert.True(next.Success, "a link to the next page of dead letters");
        var second = await client.GetStringAsync(WebUtility.HtmlDecode(next.Groups[1].Value));
        var secondRows = Rows(second);

        Assert.Equal(50, firstRows.Count);
        Assert.Equal(BadLines - 50, secondRows.Count);
        Assert.DoesNotMatch(NextLink(), second);
        var all = firstRows.Concat(secondRows).ToList();
        var expectedLines = Enumerable.Range(0, BadLines).Select(i => (long)(i * 6) + 1).ToList();
        Assert.Equal(expectedLines, all.Select(r => r.Line).ToList());
        foreach (var row in all)
        {
            Assert.Equal(LineStart(body, row.Line), row.Offset);
            Assert.Contains("invalid JSON", row.Reason, StringComparison.Ordinal);
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static List<(long Line, long Offset, string Reason)> Rows(string html) =>
        [.. DeadLetterRow().Matches(html).Select(m => (
            long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
            WebUtility.HtmlDecode(m.Groups[3].Value)))];

    /// <summary>The byte offset where 1-based line <paramref name="line"/> starts.</summary>
    private static long LineStart(byte[] body, long line)
    {
        long offset = 0;
        for (long n = 1; n < line; n++)
        {
            offset = Array.IndexOf(body, (byte)'\n', (int)offset) + 1;
        }

        return offset;
    }

    [GeneratedRegex("<tr data-line=\"[0-9]+\"><td class=\"num\">([0-9]+)</td><td class=\"num\">([0-9]+)</td><td>([^<]*)</td>")]
    private static partial Regex DeadLetterRow();

    [GeneratedRegex("id=\"dead-letters-next\" href=\"([^\"]+)\"")]
    private static partial Regex NextLink();
}
