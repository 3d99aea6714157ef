using Baton.Core.Tests.Support;
using Baton.Hosting;
using Baton.Runs;
using Baton.Storage;
using Baton.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Steps;

/// <summary>
/// A step's end may be held and written with the run's next write, but it is stored before the next step's body
/// starts, before the run suspends, and in the same transaction as the run's end (real SQLite store, fake clock).
/// </summary>
public sealed class HeldStepEndTests
{
    [Fact]
    public async Task NextStepBody_Starts_PreviousStepEndAlreadyStored()
    {
        IReadOnlyList<StepRecord>? seenBySecond = null;
        EngineHarness? harness = null;
        await using var node = harness = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("two", async (ctx, _, ct) =>
        {
            var first = await ctx.StepAsync("first", _ => Task.FromResult(1), cancellationToken: ct);
            return first + await ctx.StepAsync("second", async _ =>
            {
                seenBySecond = await harness!.Store.Steps.GetStepsAsync(ctx.RunId);
                return 2;
            }, cancellationToken: ct);
        }));

        var id = await node.StartRunAsync("two");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Succeeded, run.Status);
        var first = Assert.Single(seenBySecond!);
        Assert.Equal(("first", StepStatus.Succeeded, "1"), (first.Key, first.Status, first.Result));
        Assert.Equal(2, (await node.Store.Steps.GetStepsAsync(id)).Count(s => s.Status == StepStatus.Succeeded));
    }

    [Fact]
    public async Task StepThenLongDelay_RunSuspends_StepEndStoredWithTheSuspension()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("wait", async (ctx, _, ct) =>
        {
            var value = await ctx.StepAsync("before", _ => Task.FromResult(5), cancellationToken: ct);
            await ctx.DelayAsync("nap", TimeSpan.FromHours(1), ct);
            return value;
        }));

        var id = await node.StartRunAsync("wait");
        var suspended = await node.WaitForAsync(id, r => r.Status == RunStatus.Suspended);
        var step = Assert.Single(await node.Store.Steps.GetStepsAsync(id), s => s.Key == "before");
        var attempt = Assert.Single(await node.Store.Steps.GetAttemptsAsync(id), a => a.StepKey == "before");

        Assert.Null(suspended.LeaseOwner);
        Assert.Equal((StepStatus.Succeeded, "5"), (step.Status, step.Result));
        Assert.Equal(AttemptOutcome.Succeeded, attempt.Outcome);
    }

    [Fact]
    public async Task SingleStepRun_Ends_StepEndStoredWithTheRunEndNotOnItsOwn()
    {
        var steps = new CountingStepStore();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("one", async (ctx, _, ct) => await ctx.StepAsync("only", _ => Task.FromResult(7), cancellationToken: ct)),
            configureServices: s => s.AddSingleton<IStepStore>(sp => steps.Over(sp.GetRequiredService<IBatonStore>().Steps)));

        var id = await node.StartRunAsync("one");
        var run = await node.WaitForEndAsync(id);
        var step = Assert.Single(await node.Store.Steps.GetStepsAsync(id));
        var attempt = Assert.Single(await node.Store.Steps.GetAttemptsAsync(id));

        Assert.Equal((RunStatus.Succeeded, "7"), (run.Status, run.Output));
        Assert.Equal((StepStatus.Succeeded, "7", run.CompletedAt), (step.Status, step.Result, step.CompletedAt));
        Assert.Equal(AttemptOutcome.Succeeded, attempt.Outcome);
        // No write of the step's own: its end went into the run's final update.
        Assert.Equal(0, steps.EndWrites);
    }

    [Fact]
    public async Task TwoStepRun_Ends_FirstStepWrittenAtSecondsStartSecondWithTheRunEnd()
    {
        var steps = new CountingStepStore();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("two", async (ctx, _, ct) =>
                await ctx.StepAsync("a", _ => Task.FromResult(1), cancellationToken: ct) + await ctx.StepAsync("b", _ => Task.FromResult(2), cancellationToken: ct)),
            configureServices: s => s.AddSingleton<IStepStore>(sp => steps.Over(sp.GetRequiredService<IBatonStore>().Steps)));

        var id = await node.StartRunAsync("two");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal((RunStatus.Succeeded, "3"), (run.Status, run.Output));
        Assert.Equal(2, (await node.Store.Steps.GetStepsAsync(id)).Count(s => s.Status == StepStatus.Succeeded));
        Assert.Equal(1, steps.EndWrites);
    }

    [Fact]
    public async Task LeaseLostAtTheCombinedWrite_NeitherStored_NextOwnerRunsTheStepAgain()
    {
        var bodies = 0;
        EngineHarness? harness = null;
        await using var node = harness = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("lost", async (ctx, _, ct) =>
        {
            var value = await ctx.StepAsync("only", _ => Task.FromResult(Interlocked.Increment(ref bodies)), cancellationToken: ct);
            if (ctx.Execution == 1)
            {
                // Another node takes the run over between the step's end and the run's end.
                await TakeOverAsync(harness!.DatabasePath, ctx.RunId, "node-b");
            }

            return value;
        }));
        var status = node.Services.GetRequiredService<IBatonWorkerStatus>();

        var id = await node.StartRunAsync("lost");
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref bodies) == 1 && status.ActiveRuns == 0), done => done, "the first execution to stop");
        var afterLoss = await node.Store.Runs.GetRunAsync(id);
        var stepsAfterLoss = await node.Store.Steps.GetStepsAsync(id);
        var attemptsAfterLoss = await node.Store.Steps.GetAttemptsAsync(id);
        // node-b never renews: once its lease has run out, this node claims the run again.
        node.Time.Advance(TimeSpan.FromMinutes(1));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Equal((RunStatus.Running, "node-b"), (afterLoss!.Status, afterLoss.LeaseOwner));
        Assert.Empty(stepsAfterLoss);
        Assert.Empty(attemptsAfterLoss);
        Assert.Equal((RunStatus.Succeeded, "2"), (run.Status, run.Output));
        Assert.Equal(2, bodies);
    }

    [Fact]
    public async Task StoreWriteFails_RunStopsSayingSoNotThatAnotherNodeCarriesOn_AndResumesAfterItsLease()
    {
        // A real SQLite error (a trigger refuses the attempt row) rather than a refused lease. Before: "lease lost, another
        // node carries on", although no node held the run.
        var logs = new CapturingLoggerProvider();
        var path = EngineHarness.NewDatabasePath();
        await using (var setup = await EngineHarness.StartAsync(_ => { }, databasePath: path, startServices: false))
        {
        }

        await ExecuteAsync(path, "CREATE TRIGGER refuse_boom BEFORE INSERT ON step_attempts WHEN NEW.step_key = 'boom' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END");
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("refused", async (ctx, _, ct) =>
            {
                await ctx.StepAsync("boom", _ => Task.FromResult(1), cancellationToken: ct);
                return await ctx.StepAsync("after", _ => Task.FromResult(2), cancellationToken: ct);
            }),
            databasePath: path,
            logs: logs);
        var status = node.Services.GetRequiredService<IBatonWorkerStatus>();

        var id = await node.StartRunAsync("refused");
        await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Any(e => e.EventId == 105) && status.ActiveRuns == 0), done => done, "the execution to stop");
        await ExecuteAsync(path, "DROP TRIGGER refuse_boom");
        node.Time.Advance(TimeSpan.FromMinutes(1));
        node.WakeWorker();
        var run = await node.WaitForEndAsync(id);

        Assert.Contains(logs.Entries, e => e.EventId == 202);
        Assert.DoesNotContain(logs.Entries, e => e.EventId == 104);
        Assert.Equal((RunStatus.Succeeded, "2"), (run.Status, run.Output));
    }

    private static async Task ExecuteAsync(string databasePath, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={databasePath};Default Timeout=30;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task TakeOverAsync(string databasePath, string runId, string owner)
    {
        await using var connection = new SqliteConnection($"Data Source={databasePath};Default Timeout=30;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE runs SET lease_owner = $owner WHERE id = $id";
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$id", runId);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    /// <summary>The real store's step writes, counted: which writes the engine made on their own.</summary>
    private sealed class CountingStepStore : IStepStore
    {
        private IStepStore _inner = null!;
        private int _endWrites;

        public int EndWrites => Volatile.Read(ref _endWrites);

        public IStepStore Over(IStepStore inner)
        {
            _inner = inner;
            return this;
        }

        public Task<IReadOnlyList<StepRecord>> GetStepsAsync(string runId, CancellationToken cancellationToken = default) => _inner.GetStepsAsync(runId, cancellationToken);

        public Task<IReadOnlyList<StepAttemptRecord>> GetAttemptsAsync(string runId, CancellationToken cancellationToken = default) => _inner.GetAttemptsAsync(runId, cancellationToken);

        public Task<bool> RecordAttemptStartedAsync(AttemptStartedRequest request, CancellationToken cancellationToken = default) => _inner.RecordAttemptStartedAsync(request, cancellationToken);

        public Task<bool> RecordAttemptEndedAsync(AttemptEndedRequest request, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _endWrites);
            return _inner.RecordAttemptEndedAsync(request, cancellationToken);
        }
    }
}
