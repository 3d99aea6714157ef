using System.Text.Json;
using Baton.Core.Tests.Support;
using Baton.Hosting;
using Baton.Inbox;
using Baton.Runs;
using Baton.Storage;
using Baton.Testing;
using Baton.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Core.Tests.Inbox;

/// <summary>
/// The inbox on one node: a message starts a run keyed by its id, a redelivery finds that run, a batch is one store
/// write with an outcome per message, an event message resumes a waiting run, and bad messages are rejected storing nothing.
/// </summary>
public sealed class InboxTests
{
    private sealed record Order(string Sku, int Quantity);

    private static Task<EngineHarness> StartAsync(Action<WorkflowOptions>? configure = null, bool startServices = true) =>
        EngineHarness.StartAsync(
            b => b
                .AddWorkflow<Order, string>("ship", async (ctx, order, ct) =>
                    await ctx.StepAsync("pack", _ => Task.FromResult($"{order.Quantity}x{order.Sku}"), cancellationToken: ct), configure)
                .AddWorkflow<int, string>("waiter", async (ctx, _, ct) => await ctx.WaitForEventAsync<string>("go", cancellationToken: ct)),
            startServices: startServices);

    private static IBatonInbox Inbox(EngineHarness node) => node.Services.GetRequiredService<IBatonInbox>();

    private static InboxMessage Message(string id, string sku = "a", string workflow = "ship") =>
        new() { MessageId = id, Workflow = workflow, Input = JsonSerializer.SerializeToElement(new Order(sku, 2)) };

    private static async Task<int> CountRunsAsync(EngineHarness node) => (await node.Store.Runs.ListRunsAsync(new ListRunsRequest())).Runs.Count;

    [Fact]
    public async Task AcceptAsync_NewMessage_RunExecutesWithMessageIdAsIdempotencyKey()
    {
        await using var node = await StartAsync();

        var accepted = await Inbox(node).AcceptAsync(Message("msg-1", "book") with { CorrelationId = "corr-9" });
        var run = await node.WaitForEndAsync(accepted.RunId!);

        Assert.Equal(InboxOutcome.Created, accepted.Outcome);
        Assert.Null(accepted.Reason);
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("\"2xbook\"", run.Output);
        Assert.Equal("msg-1", run.IdempotencyKey);
        Assert.Equal("corr-9", run.CorrelationId);
    }

    [Fact]
    public async Task AcceptAsync_SameMessageIdTwice_OneRunSameId()
    {
        await using var node = await StartAsync();

        var first = await Inbox(node).AcceptAsync(Message("msg-1"));
        var again = await Inbox(node).AcceptAsync(Message("msg-1"));

        Assert.Equal(InboxOutcome.Created, first.Outcome);
        Assert.Equal(InboxOutcome.Duplicate, again.Outcome);
        Assert.Equal(first.RunId, again.RunId);
        Assert.Equal(1, await CountRunsAsync(node));
    }

    [Fact]
    public async Task AcceptAsync_NoWorkerRunning_RunIsStoredPendingForAnyNode()
    {
        await using var node = await StartAsync(startServices: false);

        var accepted = await Inbox(node).AcceptAsync(Message("msg-1"));

        var stored = await node.Store.Runs.GetRunAsync(accepted.RunId!);
        Assert.Equal(InboxOutcome.Created, accepted.Outcome);
        Assert.Equal(RunStatus.Pending, stored!.Status);
        Assert.Null(stored.LeaseOwner);
    }

    [Fact]
    public async Task AcceptManyAsync_MixedBatch_OneOutcomePerMessageInOrder()
    {
        await using var node = await StartAsync();
        var earlier = await Inbox(node).AcceptAsync(Message("old"));

        var results = await Inbox(node).AcceptManyAsync(
        [
            Message("m1", "x"),
            Message("old"),
            Message("m2", "y"),
            Message("m1", "x"),
            Message("m3", workflow: "nope"),
        ]);

        Assert.Equal(
            [InboxOutcome.Created, InboxOutcome.Duplicate, InboxOutcome.Created, InboxOutcome.Duplicate, InboxOutcome.Rejected],
            results.Select(r => r.Outcome));
        Assert.Equal(earlier.RunId, results[1].RunId);
        Assert.Equal(results[0].RunId, results[3].RunId);
        Assert.Null(results[4].RunId);
        Assert.Contains("no workflow named 'nope'", results[4].Reason);
        foreach (var id in new[] { results[0].RunId!, results[2].RunId! })
        {
            Assert.Equal(RunStatus.Succeeded, (await node.WaitForEndAsync(id)).Status);
        }

        Assert.Equal(3, await CountRunsAsync(node));
    }

    [Fact]
    public async Task AcceptManyAsync_EmptyBatch_ReturnsNoResults()
    {
        await using var node = await StartAsync();

        var results = await Inbox(node).AcceptManyAsync([]);

        Assert.Empty(results);
        Assert.Equal(0, await CountRunsAsync(node));
    }

    [Fact]
    public async Task AcceptManyAsync_TooManyMessages_ThrowsAndStoresNothing()
    {
        await using var node = await StartAsync();
        var messages = Enumerable.Range(0, InboxLimits.MaxBatchSize + 1).Select(i => Message($"m{i}")).ToList();

        var error = await Record.ExceptionAsync(() => Inbox(node).AcceptManyAsync(messages));

        Assert.IsType<ArgumentOutOfRangeException>(error);
        Assert.Equal(0, await CountRunsAsync(node));
    }

    [Fact]
    public async Task AcceptAsync_ConcurrencyKeyAtLimit_ConflictStoresNothing()
    {
        await using var node = await StartAsync(o => o.ConcurrencyKey = "warehouse", startServices: false);
        var holder = await Inbox(node).AcceptAsync(Message("m1"));

        var second = await Inbox(node).AcceptAsync(Message("m2"));
        var batch = await Inbox(node).AcceptManyAsync([Message("m3"), Message("m4")]);

        Assert.Equal(InboxOutcome.Created, holder.Outcome);
        Assert.Equal(InboxOutcome.Conflict, second.Outcome);
        Assert.Null(second.RunId);
        Assert.Contains(holder.RunId!, second.Reason);
        Assert.All(batch, r => Assert.Equal(InboxOutcome.Conflict, r.Outcome));
        Assert.Equal(1, await CountRunsAsync(node));
    }

    [Theory]
    [InlineData("", "ship", "a message id has 1 to 200 characters")]
    [InlineData("long", "ship", "a message id has 1 to 200 characters")]
    [InlineData("nul", "ship", "a message id cannot hold the character U+0000")]
    [InlineData("m1", "nope", "no workflow named 'nope' is registered")]
    public async Task AcceptAsync_BadMessage_RejectedWithReasonStoresNothing(string messageId, string workflow, string reason)
    {
        await using var node = await StartAsync();
        var id = messageId switch
        {
            "long" => new string('x', InboxLimits.MaxMessageIdLength + 1),
            "nul" => "m\01",
            _ => messageId,
        };

        var result = await Inbox(node).AcceptAsync(Message(id, workflow: workflow));

        Assert.Equal(InboxOutcome.Rejected, result.Outcome);
        Assert.Null(result.RunId);
        Assert.Contains(reason, result.Reason);
        Assert.Equal(0, await CountRunsAsync(node));
    }

    [Fact]
    public async Task AcceptManyAsync_MessageNamingNoWorkflow_RejectedAndTheRestOfTheBatchStored()
    {
        // A transport's mapper that reads the workflow from the message (a JSON null, a missing field) hands over null.
        // Before: ArgumentNullException from the registry, which a transport takes for a store failure, so the batch was
        // redelivered for ever and its good messages never ran.
        await using var node = await StartAsync(startServices: false);

        var results = await Inbox(node).AcceptManyAsync([Message("m1", workflow: null!), Message("m2")]);

        Assert.Equal(InboxOutcome.Rejected, results[0].Outcome);
        Assert.Null(results[0].RunId);
        Assert.Equal("a message names the workflow it starts; this one names none", results[0].Reason);
        Assert.Equal(InboxOutcome.Created, results[1].Outcome);
        Assert.Equal(1, await CountRunsAsync(node));
    }

    [Theory]
    [InlineData("id", "a message id cannot hold half a surrogate pair")]
    [InlineData("correlation", "the idempotency key and correlation id cannot hold half a surrogate pair")]
    public async Task AcceptAsync_MessageIdOrCorrelationIdHoldingHalfASurrogatePair_RejectedStoresNothing(string field, string reason)
    {
        // Not text: PostgreSQL's driver cannot encode it (EncoderFallbackException), so the call threw and a transport
        // delivered the message again for ever. Refused on every store, so both keep the same runs.
        await using var node = await StartAsync(startServices: false);
        var message = field == "id" ? Message("m\ud800") : Message("m1") with { CorrelationId = "c\udc00" };

        var result = await Inbox(node).AcceptAsync(message);

        Assert.Equal(InboxOutcome.Rejected, result.Outcome);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
        Assert.Equal(0, await CountRunsAsync(node));
    }

    [Fact]
    public async Task AcceptAsync_InputDoesNotFit_RejectedWithReasonStoresNothing()
    {
        await using var node = await StartAsync();

        var result = await Inbox(node).AcceptAsync(new InboxMessage
        {
            MessageId = "m1", Workflow = "ship", Input = JsonSerializer.SerializeToElement(new { Sku = "a", Quantity = "many" }),
        });

        Assert.Equal(InboxOutcome.Rejected, result.Outcome);
        Assert.False(string.IsNullOrEmpty(result.Reason));
        Assert.Equal(0, await CountRunsAsync(node));
    }

    [Theory]
    [InlineData("nul", "the concurrency key taken from the input holds the character U+0000")]
    [InlineData("long", "the concurrency key taken from the input is longer than 500 characters")]
    [InlineData("throws", "the concurrency key cannot be taken from the input")]
    [InlineData("surrogate", "input holds a \\u escape of half a surrogate pair")]
    [InlineData("input-nul", "input holds the character U+0000")]
    public async Task AcceptAsync_InputWhoseConcurrencyKeyOrTextCannotBeStored_RejectedWithReasonStoresNothing(string sku, string reason)
    {
        // Before: the store refused the derived key with an ArgumentException, so the message failed as an error (a
        // transport retries that for ever) instead of being rejected (dead-lettered).
        await using var node = await StartAsync(o => o.ConcurrencyKeyFrom<Order>(order => order.Sku switch
        {
            "throws" => throw new FormatException("no sku"),
            "nul" => "key\0",
            _ => order.Sku,
        }));
        var input = sku switch
        {
            "input-nul" => JsonSerializer.SerializeToElement(new Order("a\0b", 1)),
            "long" => JsonSerializer.SerializeToElement(new Order(new string('s', 501), 1)),
            "surrogate" => JsonDocument.Parse("{\"Sku\":\"a\",\"Quantity\":1,\"note\":\"\\ud800\"}").RootElement.Clone(),
            _ => JsonSerializer.SerializeToElement(new Order(sku, 1)),
        };

        var result = await Inbox(node).AcceptAsync(new InboxMessage { MessageId = "m-" + sku, Workflow = "ship", Input = input });

        Assert.Equal(InboxOutcome.Rejected, result.Outcome);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
        Assert.Equal(0, await CountRunsAsync(node));
    }

    [Fact]
    public async Task AcceptEventAsync_RunWaiting_RunResumesAndRedeliveryIsDuplicate()
    {
        await using var node = await StartAsync();
        var firstExecutionEnded = new TaskCompletionSource();
        node.Worker.ExecutionEnded += _ => firstExecutionEnded.TrySetResult();
        var started = await Inbox(node).AcceptAsync(new InboxMessage { MessageId = "start-1", Workflow = "waiter" });
        await firstExecutionEnded.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var sent = await Inbox(node).AcceptEventAsync("evt-1", started.RunId!, "go", JsonSerializer.SerializeToElement("went"));
        var again = await Inbox(node).AcceptEventAsync("evt-1", started.RunId!, "go", JsonSerializer.SerializeToElement("went"));
        var run = await node.WaitForEndAsync(started.RunId!);

        Assert.Equal((InboxOutcome.Created, started.RunId), (sent.Outcome, sent.RunId));
        Assert.Equal((InboxOutcome.Duplicate, started.RunId), (again.Outcome, again.RunId));
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Equal("\"went\"", run.Output);
        Assert.Single((await node.Client.GetRunAsync(started.RunId!))!.Events);
    }

    [Fact]
    public async Task AcceptEventAsync_UnknownRunOrBadName_RejectedWithReason()
    {
        await using var node = await StartAsync();

        var unknown = await Inbox(node).AcceptEventAsync("evt-1", "no-such-run", "go", null);
        var badName = await Inbox(node).AcceptEventAsync("evt-2", "no-such-run", "", null);
        var badId = await Inbox(node).AcceptEventAsync("", "no-such-run", "go", null);

        Assert.Equal(InboxOutcome.Rejected, unknown.Outcome);
        Assert.Contains("no run no-such-run", unknown.Reason);
        Assert.Equal(InboxOutcome.Rejected, badName.Outcome);
        Assert.False(string.IsNullOrEmpty(badName.Reason));
        Assert.Equal(InboxOutcome.Rejected, badId.Outcome);
        Assert.Contains("message id", badId.Reason);
    }

    [Fact]
    public async Task AcceptManyAsync_MoreMessagesThanFreeSlots_StartsWhatFitsHereAndLeavesTheRestPending()
    {
        var gate = new TaskCompletionSource();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("gated", async (ctx, n, ct) =>
                await ctx.StepAsync("wait", async t => { await gate.Task.WaitAsync(t); return n; }, cancellationToken: ct)),
            o => o.MaxConcurrentRuns = 2);
        await Poll.UntilAsync(() => Task.FromResult(node.Worker.IsRunning), running => running, "the worker to start");

        var results = await Inbox(node).AcceptManyAsync(Enumerable.Range(0, 5)
            .Select(i => new InboxMessage { MessageId = $"m{i}", Workflow = "gated", Input = JsonSerializer.SerializeToElement(i) }).ToList());
        var stored = new List<RunRecord>();
        foreach (var result in results)
        {
            stored.Add((await node.Store.Runs.GetRunAsync(result.RunId!))!);
        }

        gate.SetResult();
        Assert.All(results, r => Assert.Equal(InboxOutcome.Created, r.Outcome));
        Assert.Equal(2, stored.Count(r => r is { Status: RunStatus.Running, LeaseOwner: not null, Executions: 1 }));
        Assert.Equal(3, stored.Count(r => r is { Status: RunStatus.Pending, LeaseOwner: null }));
        foreach (var result in results)
        {
            Assert.Equal(RunStatus.Succeeded, (await node.WaitForEndAsync(result.RunId!)).Status);
        }
    }
}
