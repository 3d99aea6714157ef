using Baton.Events;
using Baton.Retries;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage.Postgres.Internal;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// U+0000, which PostgreSQL text and jsonb cannot hold, never reaches PostgreSQL: a value holding it fails at the bind,
/// and Npgsql 10 (issue #6391) then keeps that statement broken on its connection when the failing execution was the
/// one that prepared it. The store refuses such values before sending anything; the engine replaces the character in
/// what it stores from user code, so a step failing with it in its message still stores its failure.
/// </summary>
public sealed class PostgresNulTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly PostgresTestDatabase _database = new();

    public Task InitializeAsync() => PostgresTestDatabase.EnsureDatabaseAsync();

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();

    [Fact]
    public async Task GetRunAsync_NulIdAsStatementsFifthUse_RefusedAndNextGetOnConnectionSucceeds()
    {
        // Two connections: the writer keeps one, so every read below runs on the other. Npgsql prepares a statement
        // on its fifth use on a connection; here that use is the bad id. Had it reached PostgreSQL, it would fail at
        // the bind and leave the statement prepared with no result columns: the next read of an existing run on that
        // connection would fail with "Received unexpected backend message DataRow".
        var store = _database.Own(new PostgresBatonStore(
            new PostgresStoreOptions
            {
                ConnectionString = new NpgsqlConnectionStringBuilder(PostgresTestDatabase.ConnectionString) { MaxPoolSize = 2 }.ConnectionString,
                Schema = _database.NewSchema(),
            },
            TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        var run = (await store.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0 })).Run;
        for (var i = 0; i < 4; i++)
        {
            Assert.NotNull(await store.Runs.GetRunAsync(run.Id));
        }

        var bad = await Record.ExceptionAsync(() => store.Runs.GetRunAsync("bad\0id"));
        var after = await Record.ExceptionAsync(async () => Assert.Equal(run.Id, (await store.Runs.GetRunAsync(run.Id))?.Id));

        Assert.Null(after);
        var refused = Assert.IsType<ArgumentException>(bad);
        Assert.Equal("id", refused.ParamName);
        Assert.Contains("U+0000", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StepAsync_FailureMessageHoldsNul_RunFailsWithFailureStored()
    {
        // jsonb rejects the escape \u0000 that System.Text.Json writes for U+0000 in the run's failure and error list,
        // and text rejects the character itself in the attempt's error message.
        var schema = _database.NewSchema();
        await using var node = await PostgresEngineNode.StartAsync(schema, "node-a", TimeProvider.System, b => b.AddWorkflow<int, int>(
            "nul", async (ctx, _, ct) =>
            {
                ctx.SetPhase("phase\0one");
                ctx.ReportError("bad\0line");
                return await ctx.StepAsync<int>("call", _ => throw new InvalidOperationException("bad\0byte"),
                    new StepOptions { Retry = new RetryPolicy { MaxAttempts = 1 } }, cancellationToken: ct);
            }));
        var id = await node.StartAsync("nul", 1);

        var run = await node.Completions.WaitForEndAsync(id).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(RunStatus.Failed, run!.Status);
        Assert.Equal("bad\uFFFDbyte", run.Failure!.Message);
        Assert.Equal("bad\uFFFDbyte", Assert.Single(await node.Store.Steps.GetAttemptsAsync(id)).ErrorMessage);
        Assert.Equal("phase\uFFFDone", run.Phase);
        Assert.Equal("bad\uFFFDline", Assert.Single(run.Errors).Message);
    }

    [Fact]
    public async Task Client_IdOrKeyHoldsNul_NotFoundOrInvalidWithoutAskingStore()
    {
        await using var node = await PostgresEngineNode.StartAsync(_database.NewSchema(), "node-a", TimeProvider.System, b => b.AddWorkflow<int, int>(
            "echo", (_, input, _) => Task.FromResult(input)));
        var client = node.Client;
        var input = System.Text.Json.JsonSerializer.SerializeToElement(1);

        var get = await client.GetRunAsync("bad\0id");
        var list = await client.ListRunsAsync(new ListRunsRequest { Workflow = "echo\0" });
        var cancel = await client.CancelRunAsync("bad\0id");
        var retry = await client.RetryRunAsync("bad\0id");
        var sent = await client.SendEventAsync("bad\0id", "go", null);
        var keyedEvent = await client.SendEventAsync(Guid.NewGuid().ToString("N"), "go", null, "key\0");
        var started = await client.StartRunAsync(new StartRunRequest { Workflow = "echo", Input = input, IdempotencyKey = "order\07" });

        Assert.Null(get);
        Assert.Empty(list.Runs);
        Assert.Equal(CancelRunOutcome.NotFound, cancel.Outcome);
        Assert.Equal(RetryRunOutcome.NotFound, retry.Outcome);
        Assert.Equal(EventSendOutcome.RunNotFound, sent.Outcome);
        Assert.Equal(EventSendOutcome.Invalid, keyedEvent.Outcome);
        Assert.Equal(StartRunOutcome.InvalidInput, started.Outcome);
        Assert.Contains("U+0000", started.Error, StringComparison.Ordinal);
        Assert.Empty((await client.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task StartRunAsync_KeyOrCorrelationIdHoldingHalfASurrogatePair_InvalidInputNotAnEncoderError()
    {
        // Half a surrogate pair is not text: Npgsql's strict UTF-8 encoder threw EncoderFallbackException at the bind, so a
        // start (an inbox message, whose id is the key) failed as a store error, which a transport retries for ever.
        await using var node = await PostgresEngineNode.StartAsync(_database.NewSchema(), "node-a", TimeProvider.System, b => b.AddWorkflow<int, int>(
            "echo", (_, input, _) => Task.FromResult(input)));
        var input = System.Text.Json.JsonSerializer.SerializeToElement(1);

        var keyed = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "echo", Input = input, IdempotencyKey = "order\ud8007" });
        var correlated = await node.Client.StartRunAsync(new StartRunRequest { Workflow = "echo", Input = input, CorrelationId = "c\udc00" });

        Assert.All([keyed, correlated], started =>
        {
            Assert.Equal(StartRunOutcome.InvalidInput, started.Outcome);
            Assert.Contains("half a surrogate pair", started.Error, StringComparison.Ordinal);
        });
        Assert.Empty((await node.Client.ListRunsAsync(new ListRunsRequest())).Runs);
    }

    [Fact]
    public async Task Client_IdOrKeyHoldingHalfASurrogatePair_NotFoundOrInvalidNotAnEncoderError()
    {
        // Before: each call threw EncoderFallbackException from Npgsql's strict UTF-8 encoder at the bind.
        await using var node = await PostgresEngineNode.StartAsync(_database.NewSchema(), "node-a", TimeProvider.System, b => b
            .AddWorkflow<int, int>("echo", (_, input, _) => Task.FromResult(input))
            .AddWorkflow<int, int>("step", async (ctx, _, ct) => await ctx.StepAsync("fetch\ud800", _ => Task.FromResult(1), cancellationToken: ct))
            .AddWorkflow<int, int>("fan-out", async (ctx, _, ct) =>
            {
                await ctx.ForEachAsync("item", new[] { "a", "b\udc00" }, s => s, (s, _) => Task.FromResult(s), cancellationToken: ct);
                return 0;
            }));
        var client = node.Client;
        var input = System.Text.Json.JsonSerializer.SerializeToElement(1);
        var echo = await node.StartAsync("echo", 1);

        var get = await client.GetRunAsync(echo + "\ud800");
        var list = await client.ListRunsAsync(new ListRunsRequest { Workflow = "echo\ud800" });
        var cancel = await client.CancelRunAsync(echo + "\ud800");
        var retry = await client.RetryRunAsync(echo + "\ud800");
        var sent = await client.SendEventAsync(echo + "\ud800", "go", null);
        var keyedEvent = await client.SendEventAsync(echo, "go", null, "key\ud800");
        var keyedStart = await client.StartRunAsync(new StartRunRequest { Workflow = "echo", Input = input, ConcurrencyKey = "tenant\udc00" });
        var step = await node.Completions.WaitForEndAsync(await node.StartAsync("step", 1)).WaitAsync(TimeSpan.FromSeconds(30));
        var fanOut = await node.Completions.WaitForEndAsync(await node.StartAsync("fan-out", 1)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((null, CancelRunOutcome.NotFound, RetryRunOutcome.NotFound, EventSendOutcome.RunNotFound), (get, cancel.Outcome, retry.Outcome, sent.Outcome));
        Assert.Empty(list.Runs);
        Assert.Equal(EventSendOutcome.Invalid, keyedEvent.Outcome);
        Assert.Contains("an event's idempotency key cannot hold half a surrogate pair", keyedEvent.Error, StringComparison.Ordinal);
        Assert.Empty(await node.Store.Events.GetEventsAsync(echo));
        Assert.Equal(StartRunOutcome.InvalidInput, keyedStart.Outcome);
        Assert.Contains("the concurrency key holds half a surrogate pair", keyedStart.Error, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Failed, step!.Status);
        Assert.Contains("a step name cannot hold half a surrogate pair", step.Failure!.Message, StringComparison.Ordinal);
        Assert.Empty(await node.Store.Steps.GetStepsAsync(step.Id));
        Assert.Equal(RunStatus.Failed, fanOut!.Status);
        Assert.Contains("fan-out 'item' has an item key holding half a surrogate pair", fanOut.Failure!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(await node.Store.Steps.GetStepsAsync(fanOut.Id), s => s.Key.StartsWith("item", StringComparison.Ordinal));
        Assert.Equal(3, (await client.ListRunsAsync(new ListRunsRequest())).Runs.Count);
    }

    [Fact]
    public async Task UpdateRunAsync_ErrorMessageHoldsNul_RefusedAndRunUnchanged()
    {
        var store = _database.Own(await _database.NewInitializedStoreAsync(_database.NewSchema()));
        var run = (await store.Runs.CreateRunAsync(new CreateRunRequest { Id = Guid.CreateVersion7().ToString(), Workflow = "wf", Now = T0 })).Run;
        Assert.Single(await store.Runs.ClaimRunsAsync(new ClaimRunsRequest { Owner = "node-a", MaxRuns = 1, Now = T0, LeaseExpiresAt = T0.AddMinutes(5) }));

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => store.Runs.UpdateRunAsync(new UpdateRunRequest
        {
            RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(1), Phase = "next", Errors = [new RunError(T0, "bad\0line")],
        }));

        Assert.Equal("errors", refused.ParamName);
        var stored = await store.Runs.GetRunAsync(run.Id);
        Assert.Null(stored!.Phase);
        Assert.Empty(stored.Errors);
        Assert.True(await store.Runs.UpdateRunAsync(new UpdateRunRequest { RunId = run.Id, Owner = "node-a", Now = T0.AddSeconds(2), Phase = "next" }));
    }

    [Theory]
    [InlineData(@"{""a"":""\u0000""}", true)]
    [InlineData(@"{""a"":""x\\\u0000""}", true)]
    [InlineData(@"{""a"":""\\u0000""}", false)]
    [InlineData(@"{""a"":""\u0001""}", false)]
    [InlineData(@"{""a"":""\uFFFD""}", false)]
    public void Json_EscapeOfNul_RefusedOnlyWhenItIsAnEscape(string json, bool refused)
    {
        var error = Record.Exception(() => NulFree.Json("progress", json));

        Assert.Equal(refused, error is ArgumentException { ParamName: "progress" });
        Assert.Equal(refused, error is not null);
    }
}
