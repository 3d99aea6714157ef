namespace Baton.Client.Tests;

/// <summary>Cursor paging of <c>GET /api/runs</c> through the client, on both stores.</summary>
public sealed class PagingTests
{
    [Theory]
    [InlineData(TestStore.Sqlite)]
    [InlineData(TestStore.Postgres)]
    public async Task ListAllAsync_SevenRunsPagesOfThree_EveryRunOnceNewestFirst(TestStore store)
    {
        await using var server = await KeyedServer.StartAsync(store, new Dictionary<string, string?> { ["Baton__Engine__RunWorker"] = "false" });
        var client = BatonApiClient.Create(server.BaseAddress, server.Key);
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add((await client.StartAsync("demo", new DemoInput(1, 0))).Run.Id);
        }

        var first = await client.ListAsync(new RunQuery { Workflow = "demo", Limit = 3 });
        var all = new List<string>();
        await foreach (var run in client.ListAllAsync(new RunQuery { Workflow = "demo", Limit = 3 }))
        {
            all.Add(run.Id);
        }

        Assert.Equal(3, first.Runs.Count);
        Assert.NotNull(first.NextCursor);
        Assert.Equal(Enumerable.Reverse(ids), all);
        // No worker runs on this server: every run is still pending, so a status filter finds none succeeded.
        Assert.Empty((await client.ListAsync(new RunQuery { Status = RunStatuses.Succeeded })).Runs);
        Assert.Equal(7, (await client.ListAsync(new RunQuery { Status = RunStatuses.Pending, Limit = 100 })).Runs.Count);
    }
}
