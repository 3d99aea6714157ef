using Baton.Apps.CatalogSync.Tests.Infrastructure;

namespace Baton.Apps.CatalogSync.Tests.Hosting;

public sealed class DemoTests
{
    [Fact]
    public async Task Demo_Enabled_SyncsTheSimulatedCatalogOnStartAndLogsASummary()
    {
        await using var h = await SyncHarness.StartAsync(settings: new Dictionary<string, string>
        {
            ["MEDIPIM_API_URL"] = "",
            ["Baton:Apps:CatalogSync:Demo:Enabled"] = "true",
            ["Baton:Apps:CatalogSync:Demo:Products"] = "700",
        });

        var status = await Poll.UntilAsync(h.StatusAsync, s => s.GetProperty("currentPhase").GetString() is "completed" or "failed", "the demo sync to finish", TimeSpan.FromSeconds(60));

        Assert.Equal("completed", status.GetProperty("currentPhase").GetString());
        Assert.Equal(700, status.GetProperty("progress").GetProperty("totalRecords").GetInt64());
        Assert.Equal(700, h.Products().Count);
        await Poll.UntilAsync(() => Task.FromResult(h.Logs.AllText()), logs => logs.Contains("done in", StringComparison.Ordinal), "the demo's summary line", TimeSpan.FromSeconds(60));
        Assert.Equal(0, h.Feed.Requests);
    }
}
