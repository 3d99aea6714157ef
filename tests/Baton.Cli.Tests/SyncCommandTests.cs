namespace Baton.Cli.Tests;

/// <summary><c>baton sync</c> against a real server with the catalog sync app on the simulated feed.</summary>
public sealed class SyncCommandTests
{
    [Fact]
    public async Task Sync_CatalogAppOnSimulatedFeed_FollowsSyncToSuccessExit0()
    {
        var directory = TestPaths.NewTempDirectory();
        await using var server = await KeyedServer.StartAsync(TestStore.Sqlite, CatalogApp(directory));

        var result = await BatonProcess.RunAsync(server, "sync");
        var runs = await BatonProcess.RunAsync(server, "runs", "list", "--workflow", "catalog-sync", "--json");

        Assert.True(result.ExitCode == 0, result.ToString() + "\nserver:\n" + server.Process.Output);
        Assert.Contains("succeeded", result.Stdout, StringComparison.Ordinal);
        Assert.All(runs.Json().GetProperty("runs").EnumerateArray(), r => Assert.Equal("succeeded", r.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task SyncNoWatchJson_SyncAlreadyActive_OneJsonDocumentNamingTheActiveRun()
    {
        // Before: the 409's active run was printed as its bare id, so "baton sync --no-watch --json | jq -r .run.id" (the
        // command's own example) failed to parse stdout exactly when a sync was already running.
        var directory = TestPaths.NewTempDirectory();
        var settings = CatalogApp(directory);
        settings["Baton__Engine__RunWorker"] = "false";
        await using var server = await KeyedServer.StartAsync(TestStore.Sqlite, settings);
        var active = (await BatonProcess.RunAsync(server, "sync", "--no-watch", "--json")).Json().GetProperty("run").GetProperty("id").GetString();

        var result = await BatonProcess.RunAsync(server, "sync", "--no-watch", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Equal(active, json.GetProperty("run").GetProperty("id").GetString());
        Assert.Equal("catalog-sync", json.GetProperty("run").GetProperty("workflow").GetString());
        Assert.False(json.GetProperty("created").GetBoolean());
    }

    private static Dictionary<string, string?> CatalogApp(string directory) => new()
    {
        ["Baton__Apps__CatalogSync__Enabled"] = "true",
        ["Baton__Apps__CatalogSync__Demo__Enabled"] = "true",
        ["Baton__Apps__CatalogSync__Demo__Products"] = "3000",
        ["Baton__Apps__CatalogSync__DatabasePath"] = Path.Combine(directory, "catalog.db"),
        ["Baton__Apps__CatalogSync__BlobDirectory"] = Path.Combine(directory, "feeds"),
    };
}
