namespace Baton.Cli.Tests;

/// <summary><c>baton sync</c> against a real server with the catalog sync app on the simulated feed.</summary>
public sealed class SyncCommandTests
{
    [Fact]
    public async Task Sync_CatalogAppOnSimulatedFeed_FollowsSyncToSuccessExit0()
    {
        var directory = TestPaths.NewTempDirectory();
        await using var server = await KeyedServer.StartAsync(TestStore.Sqlite, new Dictionary<string, string?>
        {
            ["Baton__Apps__CatalogSync__Enabled"] = "true",
            ["Baton__Apps__CatalogSync__Demo__Enabled"] = "true",
            ["Baton__Apps__CatalogSync__Demo__Products"] = "3000",
            ["Baton__Apps__CatalogSync__DatabasePath"] = Path.Combine(directory, "catalog.db"),
            ["Baton__Apps__CatalogSync__BlobDirectory"] = Path.Combine(directory, "feeds"),
        });

        var result = await BatonProcess.RunAsync(server, "sync");
        var runs = await BatonProcess.RunAsync(server, "runs", "list", "--workflow", "catalog-sync", "--json");

        Assert.True(result.ExitCode == 0, result.ToString() + "\nserver:\n" + server.Process.Output);
        Assert.Contains("succeeded", result.Stdout, StringComparison.Ordinal);
        Assert.All(runs.Json().GetProperty("runs").EnumerateArray(), r => Assert.Equal("succeeded", r.GetProperty("status").GetString()));
    }
}
