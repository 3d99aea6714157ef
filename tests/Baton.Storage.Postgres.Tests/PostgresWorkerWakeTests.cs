using System.Diagnostics;
using Baton.Hosting;
using Baton.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Baton.Storage.Postgres.Tests;

/// <summary>The engine's worker on the Postgres store wakes on NOTIFY from another node, not on its poll.</summary>
public sealed class PostgresWorkerWakeTests : IAsyncLifetime
{
    private readonly PostgresTestDatabase _database = new();

    public Task InitializeAsync() => PostgresTestDatabase.EnsureDatabaseAsync();

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();

    [Fact]
    public async Task Worker_RunCreatedOnOtherNode_StartsWithoutWaitingForPoll()
    {
        var schema = _database.NewSchema();
        await using var node = await WorkerNode.StartAsync(schema, b => b.AddWorkflow<int, int>("double", (_, input, _) => Task.FromResult(input * 2)));
        await using var otherNode = PostgresTestDatabase.NewStore(schema);

        // The first run lets the worker finish its start-up claims; the second can only be started by a wake-up.
        var warmUp = await CreateAsync(otherNode);
        Assert.Equal(RunStatus.Succeeded, (await WaitForEndAsync(otherNode, warmUp)).Status);
        var run = await CreateAsync(otherNode);

        var finished = await WaitForEndAsync(otherNode, run);

        Assert.Equal(RunStatus.Succeeded, finished.Status);
        Assert.Equal("42", finished.Output);
    }

    [Fact]
    public async Task Worker_EventSentThroughNodeB_ResumesRunWaitingOnNodeAWithoutWaitingForPoll()
    {
        var schema = _database.NewSchema();
        await using var node = await WorkerNode.StartAsync(schema, b => b.AddWorkflow<int, int>(
            "double", async (ctx, input, ct) => input * await ctx.WaitForEventAsync<int>("factor", cancellationToken: ct)));
        // Node B has no workflows, so it never claims the run: only node A can resume it.
        await using var nodeB = await WorkerNode.StartAsync(schema, _ => { }, "node-b");
        await using var otherNode = PostgresTestDatabase.NewStore(schema);
        var run = await CreateAsync(otherNode);
        var waiting = await WaitUntilAsync(otherNode, run, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);

        var sent = await nodeB.Client.SendEventAsync(run, "factor", System.Text.Json.JsonSerializer.SerializeToElement(2));
        var finished = await WaitForEndAsync(otherNode, run);

        Assert.Equal(1, waiting.Executions);
        Assert.Equal(Baton.Events.EventSendOutcome.Stored, sent.Outcome);
        Assert.Equal(RunStatus.Succeeded, finished.Status);
        Assert.Equal("42", finished.Output);
        Assert.Equal(2, finished.Executions);
    }

    [Fact]
    public async Task Worker_ChildEndsOnNodeB_ParentWaitingOnNodeAResumesWithoutWaitingForPoll()
    {
        var schema = _database.NewSchema();
        var parentGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holdGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var parent = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var otherNode = PostgresTestDatabase.NewStore(schema);
        // The child on B ends only once the parent has suspended (its lease released): else a child that B ends before the
        // parent looks at it again lets the parent finish in its first execution, and the wake-up is never exercised.
        await using var nodeB = await WorkerNode.StartAsync(
            schema,
            b => b.AddWorkflow<int, int>("child", async (_, input, _) =>
                {
                    await WaitUntilAsync(otherNode, await parent.Task, r => r.Status == RunStatus.Suspended && r.LeaseOwner is null);
                    return input * 2;
                })
                .AddWorkflow<int, int>("warm-up-b", (_, input, _) => Task.FromResult(input)),
            "node-b");
        // A run created elsewhere can only start on node B through NOTIFY: once it has ended, node B listens.
        Assert.Equal(RunStatus.Succeeded, (await WaitForEndAsync(otherNode, await CreateAsync(otherNode, "warm-up-b"))).Status);

        // Node A has one slot. The parent holds it while it starts the child, so the child is stored pending and node B,
        // woken by NOTIFY, runs it. When the parent suspends, node A's freed slot goes to "hold" (older than the child,
        // unknown to node B), which keeps it until the child has ended: node A never runs the child itself (its copy
        // would answer -1), so the parent's wake-up can only come from node B through NOTIFY (both poll every 10 min).
        await using var node = await WorkerNode.StartAsync(
            schema,
            b => b.AddWorkflow<int, int>("double", async (ctx, input, ct) =>
                {
                    await parentGate.Task.WaitAsync(ct);
                    return await ctx.RunChildAsync<int>("child", input, cancellationToken: ct);
                })
                .AddWorkflow<int, int>("child", (_, _, _) => Task.FromResult(-1))
                .AddWorkflow<int, int>("warm-up", (_, input, _) => Task.FromResult(input))
                .AddWorkflow<int, int>("hold", async (_, input, ct) =>
                {
                    await holdGate.Task.WaitAsync(ct);
                    return input;
                }),
            configure: o => o.MaxConcurrentRuns = 1);
        Assert.Equal(RunStatus.Succeeded, (await WaitForEndAsync(otherNode, await CreateAsync(otherNode, "warm-up"))).Status);
        var run = await CreateAsync(otherNode);
        parent.SetResult(run);
        await WaitUntilAsync(otherNode, run, r => r.Status == RunStatus.Running && r.LeaseOwner == "node-a");
        var hold = await CreateAsync(otherNode, "hold");
        parentGate.SetResult();

        var holding = await WaitUntilAsync(otherNode, hold, r => r.Status == RunStatus.Running);
        var child = await WaitForChildEndAsync(otherNode, run);
        holdGate.SetResult();
        var finished = await WaitForEndAsync(otherNode, run);

        Assert.Equal("node-a", holding.LeaseOwner);
        Assert.Equal(RunStatus.Succeeded, child.Status);
        Assert.Equal("42", child.Output);
        Assert.Equal(RunStatus.Succeeded, finished.Status);
        Assert.Equal("42", finished.Output);
        Assert.Equal(2, finished.Executions);
    }

    [Fact]
    public async Task Worker_RunsEndWithNothingAnnounced_ClaimsNothingAfterThem()
    {
        var schema = _database.NewSchema();
        await using var node = await WorkerNode.StartAsync(schema, b => b.AddWorkflow<int, int>("double", (_, input, _) => Task.FromResult(input * 2)));
        await using var otherNode = PostgresTestDatabase.NewStore(schema);
        // A run from another node can only start through NOTIFY: once it has ended, the listener is up and start-up is over.
        Assert.Equal(RunStatus.Succeeded, (await WaitForEndAsync(otherNode, await CreateAsync(otherNode))).Status);
        var claims = 0;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                var text = (activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement") ?? activity.DisplayName)?.ToString() ?? "";
                if (text.Contains(schema, StringComparison.Ordinal) && text.Contains("expired AS", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref claims);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        // Started on the node itself: each run is created with its lease and runs there, so nothing is left to claim.
        var started = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => node.Client.StartRunAsync(new StartRunRequest
        {
            Workflow = "double", Input = System.Text.Json.JsonSerializer.SerializeToElement(i),
        })));
        foreach (var run in started)
        {
            Assert.Equal(RunStatus.Succeeded, (await WaitForEndAsync(otherNode, run.Run!.Id)).Status);
        }

        Assert.Equal(0, Volatile.Read(ref claims));
    }

    private static async Task<string> CreateAsync(IBatonStore store, string workflow = "double")
    {
        var result = await store.Runs.CreateRunAsync(new CreateRunRequest
        {
            Id = Guid.CreateVersion7().ToString(), Workflow = workflow, Input = "21", Now = DateTimeOffset.UtcNow,
        });
        Assert.Equal(CreateRunOutcome.Created, result.Outcome);
        return result.Run.Id;
    }

    private static Task<RunRecord> WaitForEndAsync(IBatonStore store, string runId) => WaitUntilAsync(store, runId, r => r.Status.IsTerminal());

    /// <summary>Waits (at most 60 s) until the parent's child run exists and has ended; returns it.</summary>
    private static async Task<RunRecord> WaitForChildEndAsync(IBatonStore store, string parentRunId)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var children = await store.Runs.ListRunsAsync(new ListRunsRequest { ParentRunId = parentRunId });
            if (children.Runs.Count > 0 && children.Runs[0].Status.IsTerminal())
            {
                return children.Runs[0];
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"the child of run {parentRunId} has not ended after 60 s");
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    /// <summary>Polls the other node's view of the run (another connection) until it satisfies <paramref name="until"/>, for at most 60 s (far below the 10 min poll, so only a notification can end it in time).</summary>
    private static async Task<RunRecord> WaitUntilAsync(IBatonStore store, string runId, Func<RunRecord, bool> until)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var run = await store.Runs.GetRunAsync(runId);
            Assert.NotNull(run);
            if (until(run))
            {
                return run;
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"run {runId} is still {run.Status} after 60 s");
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    /// <summary>One engine node on the schema whose worker polls only every 10 minutes: far longer than a test's deadline, so only a notification can start or resume a run in time.</summary>
    private sealed class WorkerNode(ServiceProvider provider, List<IHostedService> hosted) : IAsyncDisposable
    {
        public IBatonClient Client => provider.GetRequiredService<IBatonClient>();

        public static async Task<WorkerNode> StartAsync(string schema, Action<BatonBuilder> workflows, string nodeId = "node-a", Action<BatonOptions>? configure = null)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            workflows(services.AddBaton(o =>
                {
                    o.NodeId = nodeId;
                    o.PollInterval = TimeSpan.FromMinutes(10);
                    o.RunScheduler = false;
                    configure?.Invoke(o);
                })
                .UsePostgres(o => { o.ConnectionString = PostgresTestDatabase.ConnectionString; o.Schema = schema; }));
            var provider = services.BuildServiceProvider();
            var hosted = provider.GetServices<IHostedService>().ToList();
            foreach (var service in hosted)
            {
                await service.StartAsync(CancellationToken.None);
            }

            return new WorkerNode(provider, hosted);
        }

        public async ValueTask DisposeAsync()
        {
            for (var i = hosted.Count - 1; i >= 0; i--)
            {
                await hosted[i].StopAsync(CancellationToken.None);
            }

            await provider.DisposeAsync();
        }
    }
}
