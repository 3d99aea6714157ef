using Baton.Runs;
using Microsoft.Extensions.Time.Testing;

namespace Baton.Storage.Postgres.Tests;

/// <summary>Claims: a claim whose answer was lost after its commit, and what a claim may take from another node.</summary>
public sealed class PostgresClaimTests : IAsyncLifetime
{
    private readonly PostgresTestDatabase _database = new();

    public Task InitializeAsync() => PostgresTestDatabase.EnsureDatabaseAsync();

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();

    [Fact]
    public async Task ClaimRunsAsync_ClaimCommittedButAnswerLost_RunStartsWithoutWaitingForTheLease()
    {
        // Before: the connection broke after the claim had committed; the worker logged the error, and the run stayed
        // leased to this node, which did not know it held it: nobody ran it until the lease (30 s) ran out, and the next
        // claim counted a second execution. The node's clock never moves here, so the lease never runs out.
        await using var proxy = new AnswerLosingProxy(PostgresTestDatabase.ConnectionString);
        var schema = _database.NewSchema();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var creator = _database.Own(await _database.NewInitializedStoreAsync(schema));
        var id = Guid.CreateVersion7().ToString();
        await creator.Runs.CreateRunAsync(new CreateRunRequest { Id = id, Workflow = "double", Input = "21", Now = clock.GetUtcNow() });

        // Only a claim names the workflow's version key: the node's first claim, the one that takes the run, loses its answer.
        proxy.CutAfterCommit("double@1");
        await using var node = await PostgresEngineNode.StartAsync(
            schema, "node-a", clock, b => b.AddWorkflow<int, int>("double", (_, input, _) => Task.FromResult(input * 2)), proxy.ConnectionString);
        var run = await node.Completions.WaitForEndAsync(id, TimeSpan.FromMinutes(10)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(proxy.Cut.Task.IsCompleted, "the claim's answer was never dropped");
        Assert.Equal(RunStatus.Succeeded, run?.Status);
        Assert.Equal("42", run?.Output);
        Assert.Equal(1, run?.Executions);
    }

    [Fact]
    public async Task ClaimRunsAsync_AnswerLostAtTheSameInstantAsAnEarlierClaim_ReturnsOnlyTheRunsThisClaimTook()
    {
        // The runs a claim took are told apart by the claim's own token, not by its owner and times: an earlier claim by
        // the same owner at the same instant (a clock that did not move) took a run this node is already running, which
        // must not be handed to it a second time.
        await using var proxy = new AnswerLosingProxy(PostgresTestDatabase.ConnectionString);
        var store = _database.Own(await proxy.NewStoreAsync(_database.NewSchema()));
        var now = DateTimeOffset.UtcNow;
        var claim = new ClaimRunsRequest { Owner = "node-a", MaxRuns = 10, Now = now, LeaseExpiresAt = now.AddSeconds(30) };
        var first = await CreateAsync(store, now);
        Assert.Equal([first], (await store.Runs.ClaimRunsAsync(claim)).Select(r => r.Id));
        var second = await CreateAsync(store, now);

        proxy.CutAfterCommit("wf@1");
        var claimed = await store.Runs.ClaimRunsAsync(claim with { WorkflowVersions = ["wf@1"] });

        Assert.True(proxy.Cut.Task.IsCompleted, "the claim's answer was never dropped");
        var run = Assert.Single(claimed);
        Assert.Equal(second, run.Id);
        Assert.Equal("node-a", run.LeaseOwner);
        Assert.Equal(1, run.Executions);
    }

    private static async Task<string> CreateAsync(IBatonStore store, DateTimeOffset now) =>
        (await store.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = now })).Run.Id;
}
