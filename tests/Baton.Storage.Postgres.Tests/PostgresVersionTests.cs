using Baton.Runs;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Storage.Postgres.Tests;

/// <summary>Workflow versions on one schema: each node claims only the runs of the versions its code registered.</summary>
public sealed class PostgresVersionTests : IAsyncLifetime
{
    private readonly PostgresTestDatabase _database = new();

    public Task InitializeAsync() => PostgresTestDatabase.EnsureDatabaseAsync();

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();

    [Fact]
    public async Task Claims_TwoNodesWithDifferentVersions_EachRunsOnlyItsVersionsRuns()
    {
        // A rolling deploy of an incompatible v2: a v1 run and a v2 run are due together. The v2 node runs the v2 run and
        // leaves the v1 run pending (its claim looked at both); the v1 node started next runs the v1 run on v1 code. The clock
        // never moves, so nothing is taken over at a lease expiry.
        var schema = _database.NewSchema();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var creator = _database.Own(await _database.NewInitializedStoreAsync(schema));
        var v1 = await CreateAsync(creator, clock, version: 1);
        var v2 = await CreateAsync(creator, clock, version: 2);

        await using (var nodeV2 = await PostgresEngineNode.StartAsync(schema, "node-v2", clock, b => b.AddWorkflow<int, string>(
            "wf", (_, i, _) => Task.FromResult($"v2:{i}"), o => o.Version = 2)))
        {
            var ran = await nodeV2.Completions.WaitForEndAsync(v2, TimeSpan.FromMinutes(10)).WaitAsync(TimeSpan.FromSeconds(30));
            var left = await creator.Runs.GetRunAsync(v1);

            Assert.Equal((RunStatus.Succeeded, "\"v2:2\""), (ran?.Status, ran?.Output));
            Assert.Equal((RunStatus.Pending, 0, null), (left?.Status, left?.Executions, left?.LeaseOwner));
        }

        await using var nodeV1 = await PostgresEngineNode.StartAsync(schema, "node-v1", clock, b => b.AddWorkflow<int, string>(
            "wf", (_, i, _) => Task.FromResult($"v1:{i}")));
        var run = await nodeV1.Completions.WaitForEndAsync(v1, TimeSpan.FromMinutes(10)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((RunStatus.Succeeded, "\"v1:1\"", 1), (run?.Status, run?.Output, run?.WorkflowVersion));
    }

    [Fact]
    public async Task IsPatchedAsync_V1RunResumedOnV2Node_FalseWhereverItWentPastOrTookTheOldPath()
    {
        // As on SQLite (WorkflowVersioningTests): a v1 run stored step "invoice" and suspended on the timer "invoice/reminder";
        // a v2 node that resumes v1 guards "fraud" before "invoice" and again after the timer, and "audit" between the two.
        // Every answer is false: the run passed the first two places on v1 code, and keeps the old path of "fraud" at the
        // third. Before: "audit" was true (the timer counted as reached with "invoice") and so was the second "fraud".
        var schema = _database.NewSchema();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        string id;
        await using (var nodeV1 = await PostgresEngineNode.StartAsync(schema, "node-v1", clock, b => b.AddWorkflow<int, int>("wf", async (ctx, _, ct) =>
        {
            await ctx.StepAsync("invoice", _ => Task.FromResult(1), cancellationToken: ct);
            await ctx.DelayAsync("invoice/reminder", TimeSpan.FromHours(1), ct);
            return 0;
        })))
        {
            id = await nodeV1.StartAsync("wf", 1);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while ((await nodeV1.Store.Runs.GetRunAsync(id, wait.Token))?.Status != RunStatus.Suspended)
            {
                await Task.Delay(20, wait.Token);
            }
        }

        clock.Advance(TimeSpan.FromHours(1));
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var nodeV2 = await PostgresEngineNode.StartAsync(schema, "node-v2", clock, b => b.AddWorkflow<int, int>("wf", async (ctx, _, ct) =>
        {
            seen.Enqueue($"fraud:{await ctx.IsPatchedAsync("fraud", ct)}");
            await ctx.StepAsync("invoice", _ => Task.FromResult(1), cancellationToken: ct);
            seen.Enqueue($"audit:{await ctx.IsPatchedAsync("audit", ct)}");
            await ctx.DelayAsync("invoice/reminder", TimeSpan.FromHours(1), ct);
            seen.Enqueue($"fraud:{await ctx.IsPatchedAsync("fraud", ct)}");
            return 0;
        }, o => { o.Version = 2; o.ResumesVersions = [1]; }));
        var run = await nodeV2.Completions.WaitForEndAsync(id, TimeSpan.FromMinutes(10)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((RunStatus.Succeeded, 1), (run?.Status, run?.WorkflowVersion));
        Assert.Equal(["fraud:False", "audit:False", "fraud:False"], seen);
        Assert.Equal(["false", "false", "false"], (await nodeV2.Store.Steps.GetStepsAsync(id)).Where(s => s.Kind == StepKind.Patch).Select(s => s.Result));
    }

    private static async Task<string> CreateAsync(IBatonStore store, TimeProvider clock, int version) =>
        (await store.Runs.CreateRunAsync(new CreateRunRequest
        {
            Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Input = version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            WorkflowVersion = version, Now = clock.GetUtcNow(),
        })).Run.Id;
}
