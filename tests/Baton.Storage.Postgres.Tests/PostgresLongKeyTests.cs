using Baton.Runs;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// Keys PostgreSQL indexes hold at most 2,704 bytes in one B-tree entry: a step name or fan-out item key longer than
/// <see cref="RunLimits.MaxStepKeyLength"/> is refused by the engine, on every store alike, and the run fails naming it.
/// </summary>
public sealed class PostgresLongKeyTests : IAsyncLifetime
{
    private readonly PostgresTestDatabase _database = new();

    public Task InitializeAsync() => PostgresTestDatabase.EnsureDatabaseAsync();

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();

    [Fact]
    public async Task Run_StepNameOrFanOutItemKeyTooLongToIndex_FailsNamingTheLimit()
    {
        // Before: every write of such a step failed at PostgreSQL's index ("index row size ... exceeds btree version 4
        // maximum 2704"), which the engine takes for a store failure: the run stayed running, leased, and was taken up
        // again at each lease expiry, for ever (on SQLite it ran). The clock never moves here, so the lease never runs out.
        var random = new Random(7);
        var longText = new string([.. Enumerable.Range(0, 4000).Select(_ => (char)random.Next('a', 'z' + 1))]);
        await using var node = await PostgresEngineNode.StartAsync(_database.NewSchema(), "node-a", new FakeTimeProvider(DateTimeOffset.UtcNow), b => b
            .AddWorkflow<int, int>("step", async (ctx, _, ct) => await ctx.StepAsync(longText, _ => Task.FromResult(1), cancellationToken: ct))
            .AddWorkflow<int, int>("fanout", async (ctx, _, ct) =>
                (await ctx.ForEachAsync<string, int>("item", [longText], key => key, (_, _) => Task.FromResult(1), cancellationToken: ct)).Count));
        var step = await node.StartAsync("step", 1);
        var fanOut = await node.StartAsync("fanout", 1);

        var steps = await node.Completions.WaitForEndAsync(step).WaitAsync(TimeSpan.FromSeconds(30));
        var fanOuts = await node.Completions.WaitForEndAsync(fanOut).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(RunStatus.Failed, steps?.Status);
        Assert.Contains("a step name is at most 500 characters", steps?.Failure?.Message, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Failed, fanOuts?.Status);
        Assert.Contains("fan-out 'item' has an item key of 4005 characters", fanOuts?.Failure?.Message, StringComparison.Ordinal);
        Assert.Empty(await node.Store.Steps.GetStepsAsync(fanOut));
    }
}
