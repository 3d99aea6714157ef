namespace Baton.Cli.Tests;

/// <summary><c>baton schedules</c>, <c>nodes</c>, <c>workflows</c>: the real command against the real server process.</summary>
public sealed class CatalogCommandsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Schedules_SetListDelete_RoundTripAndSecondDeleteExit1()
    {
        var name = "cli-" + Guid.NewGuid().ToString("N")[..8];

        var set = await BatonProcess.RunAsync(fixture.Server, "schedules", "set", name, "--workflow", "demo", "--cron", "0 2 * * *", "--time-zone", "Europe/Brussels", "--input", """{"items":2}""");
        var list = await BatonProcess.RunAsync(fixture.Server, "schedules", "list", "--json");
        var table = await BatonProcess.RunAsync(fixture.Server, "schedules", "list");
        var delete = await BatonProcess.RunAsync(fixture.Server, "schedules", "delete", name);
        var deleteAgain = await BatonProcess.RunAsync(fixture.Server, "schedules", "delete", name);

        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Contains($"schedule {name}: demo at '0 2 * * *' Europe/Brussels, next ", set.Stdout, StringComparison.Ordinal);
        var stored = Assert.Single(list.Json().EnumerateArray(), s => s.GetProperty("name").GetString() == name);
        Assert.Equal(2, stored.GetProperty("input").GetProperty("items").GetInt32());
        Assert.Contains(name, table.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, delete.ExitCode);
        Assert.Equal(1, deleteAgain.ExitCode);
        Assert.Contains($"no schedule named '{name}'", deleteAgain.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SchedulesSet_BadCron_Exit2WithTheServersDetail()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "schedules", "set", "bad", "--workflow", "demo", "--cron", "every day");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("400 The schedule was rejected", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SchedulesSet_MissingCron_Exit2()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "schedules", "set", "x", "--workflow", "demo");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--cron", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodes_OneServer_ListsItsNodeWithDemo()
    {
        var nodes = await Poll.UntilAsync(
            async () => (await BatonProcess.RunAsync(fixture.Server, "nodes", "--json")).Json(),
            n => n.GetArrayLength() > 0,
            "the node's first heartbeat");
        var table = await BatonProcess.RunAsync(fixture.Server, "nodes");

        var node = Assert.Single(nodes.EnumerateArray());
        Assert.Contains(node.GetProperty("workflows").EnumerateArray(), w => w.GetString() == "demo");
        Assert.Contains(node.GetProperty("nodeId").GetString()!, table.Stdout, StringComparison.Ordinal);
        // With the version each workflow runs (before: names alone).
        Assert.Contains(node.GetProperty("workflowVersions").EnumerateArray(), w => w.GetProperty("name").GetString() == "demo" && w.GetProperty("version").GetInt32() == 1);
        Assert.Contains("demo v1", table.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workflows_Human_TableListsDemo()
    {
        var result = await BatonProcess.RunAsync(fixture.Server, "workflows");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("demo", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("DemoInput", result.Stdout, StringComparison.Ordinal);
    }
}
