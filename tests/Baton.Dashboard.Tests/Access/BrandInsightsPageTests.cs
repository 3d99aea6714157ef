using System.Globalization;
using System.Text.RegularExpressions;
using Baton.Dashboard.Tests.Infrastructure;
using StackExchange.Redis;

namespace Baton.Dashboard.Tests.Access;

/// <summary>The brand insights page over plain HTTP against the real server with the app on a private Redis (its <c>brands:list</c> is a fixed key).</summary>
public sealed partial class BrandInsightsPageTests
{
    private const string Chunk = """{"chunkId":"ID","brand":"nike","processedAt":"2025-01-01T00:00:00Z","sentiment":{"positive":5,"neutral":2,"negative":1,"score":4},"topics":["launch"],"clusters":[{"id":"launch-positive","label":"Launch Buzz","mentions":["m1","m2"],"spike":true}],"meta":{"mentionCount":3}}""";

    [Fact]
    public async Task BrandInsightsPage_AppEnabled_ShowsBrandsWithMergedFailedBacklogAndMergeRuns()
    {
        await using var redis = await PrivateRedis.StartAsync();
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var db = connection.GetDatabase();
        await db.SetAddAsync("brands:list", "nike");
        await db.ListRightPushAsync("result:brand:nike:chunks", [Chunk.Replace("ID", "nike-1", StringComparison.Ordinal), "{\"chunkId\":", Chunk.Replace("ID", "nike-2", StringComparison.Ordinal), Chunk.Replace("ID", "nike-3", StringComparison.Ordinal)]);
        await using var server = await DashboardServer.StartAsync(extra: new Dictionary<string, string?>
        {
            ["Baton__Apps__BrandInsights__Enabled"] = "true",
            ["Baton__Apps__BrandInsights__Demo__Enabled"] = "false",
            ["REDIS_URL"] = redis.Url,
            ["ORCHESTRATOR_ID"] = "orchestrator-ui",
            ["BRAND_REFRESH_INTERVAL_SEC"] = "0.2",
            ["HTTP_PORT"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["PROMETHEUS_PORT"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
        });
        using var client = server.NewBrowserlessClient();
        (await DashboardServer.SignInAsync(client, DashboardServer.AdminKey)).Dispose();

        var html = await Poll.UntilAsync(
            () => client.GetStringAsync("/ui/apps/brand-insights"),
            // The counters move inside the merge step, before its run is stored as succeeded: wait for both.
            h => BrandRow().Match(h) is { Success: true } m && m.Groups[1].Value == "3" && m.Groups[2].Value == "1" && m.Groups[3].Value == "0"
                && SucceededMerge().IsMatch(h.ReplaceLineEndings(" ")),
            "nike's three chunks merged, one failed, and its merge run succeeded",
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(200));

        Assert.Contains("data-redis=\"connected\"", html, StringComparison.Ordinal);
        Assert.Contains("<code>orchestrator-ui</code>", html, StringComparison.Ordinal);
        Assert.Contains("href=\"/ui/apps/brand-insights\"", html, StringComparison.Ordinal);
        Assert.Matches(SucceededMerge(), html.ReplaceLineEndings(" "));
    }

    [GeneratedRegex("<tr data-brand=\"nike\"><td>nike</td><td class=\"num\" data-merged>([0-9]+)</td><td class=\"num\">[0-9]+</td><td class=\"num\" data-failed>([0-9]+)</td><td class=\"num\" data-backlog>([0-9]+)</td></tr>")]
    private static partial Regex BrandRow();

    [GeneratedRegex("<table id=\"brand-merges\">.*status-succeeded")]
    private static partial Regex SucceededMerge();
}
