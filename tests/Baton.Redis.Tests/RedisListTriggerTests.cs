using System.Text.Json;
using Baton.Hosting;
using Baton.Inbox;
using Baton.Runs;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Baton.Redis.Tests;

/// <summary>The list trigger on the shared Redis: runs per item, batches, redeliveries, dead letters.</summary>
public sealed class RedisListTriggerTests
{
    private static string Item(int i) => $$"""{"n":{{i}}}""";

    // The trigger logs a dead letter (EventId 5014) only after Redis has it, so a test that saw the dead-letter list waits for the log too.
    private static Task<List<CapturedLog>> DeadLetterLogsAsync(RedisNode node, int count) =>
        Poll.UntilAsync(() => Task.FromResult(node.Logs.Entries.Where(e => e.EventId == 5014).ToList()), logged => logged.Count >= count, $"{count} dead letters logged");

    [Fact]
    public async Task Trigger_DefaultMapper_OneRunPerItemAndListsEmptied()
    {
        await using var node = await RedisNode.CreateAsync();
        await node.Db.ListRightPushAsync(node.List, [.. Enumerable.Range(0, 250).Select(i => (RedisValue)Item(i))]);

        await node.StartAsync();
        var runs = await node.WaitForSucceededRunsAsync(250);

        Assert.Equal(250, runs.Count);
        Assert.Equal(
            Enumerable.Range(0, 250).Select(i => $"{node.List}:{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Item(i))))}").Order(),
            runs.Select(r => r.IdempotencyKey).Order());
        Assert.Equal(Enumerable.Range(0, 250).Select(Item).Order(), node.Executed.Order());
        Assert.Equal(0, await node.Db.ListLengthAsync(node.List));
        await Poll.UntilAsync(() => node.Db.ListLengthAsync(node.ProcessingList), n => n == 0, "the processing list to be emptied");
    }

    [Fact]
    public async Task Trigger_ItemsPushedAfterStart_EachBecomesOneRun()
    {
        await using var node = await RedisNode.CreateAsync();
        await node.StartAsync();

        for (var i = 0; i < 20; i++)
        {
            await node.Db.ListRightPushAsync(node.List, Item(i));
        }

        var runs = await node.WaitForSucceededRunsAsync(20);
        Assert.Equal(20, runs.Count);
        Assert.Equal(Enumerable.Range(0, 20).Select(Item).Order(), node.Executed.Order());
    }

    [Fact]
    public async Task Trigger_CustomMapper_BatchesOfBatchSizeInListOrder()
    {
        await using var node = await RedisNode.CreateAsync();
        await node.Db.ListRightPushAsync(node.List, [.. Enumerable.Range(0, 35).Select(i => (RedisValue)Item(i))]);
        var batches = new System.Collections.Concurrent.ConcurrentQueue<RedisListBatch>();

        await node.StartAsync(o =>
        {
            o.BatchSize = 10;
            o.Map = batch =>
            {
                batches.Enqueue(batch);
                var input = JsonSerializer.SerializeToElement(batch.Items.Select(i => JsonDocument.Parse(i).RootElement).ToArray());
                return new RedisBatchPlan([new InboxMessage { MessageId = batch.BatchId, Workflow = "record", Input = input }], []);
            };
        });
        var runs = await node.WaitForSucceededRunsAsync(4);

        Assert.Equal([10, 10, 10, 5], batches.Select(b => b.Items.Count));
        Assert.Equal(Enumerable.Range(0, 35).Select(Item), batches.SelectMany(b => b.Items));
        Assert.Equal(batches.Select(b => b.BatchId).Order(), runs.Select(r => r.IdempotencyKey).Order());
        Assert.Equal(4, runs.Count);
    }

    [Fact]
    public async Task Trigger_CrashBetweenAcceptAndRemove_ItemsReofferedAsDuplicatesNotRunTwice()
    {
        await using var node = await RedisNode.CreateAsync();
        await node.StartAsync();
        // The state a crash leaves: the items were accepted (their runs stored) but are still in the processing list.
        var inbox = node.Services.GetRequiredService<IBatonInbox>();
        var held = Enumerable.Range(0, 3).Select(Item).ToArray();
        var first = await inbox.AcceptManyAsync([.. held.Select(i => new InboxMessage
        {
            MessageId = DefaultListMapper.MessageId(node.List, i), Workflow = "record", Input = JsonDocument.Parse(i).RootElement,
        })]);
        Assert.All(first, r => Assert.Equal(InboxOutcome.Created, r.Outcome));
        await node.WaitForSucceededRunsAsync(3);
        await node.StopAsync();
        await node.Db.ListRightPushAsync(node.ProcessingList, [.. held.Select(i => (RedisValue)i)]);
        await node.Db.ListRightPushAsync(node.List, [Item(3), Item(4)]);

        await node.RestartAsync();
        var runs = await node.WaitForSucceededRunsAsync(5);
        await Poll.UntilAsync(() => node.Db.ListLengthAsync(node.ProcessingList), n => n == 0, "the processing list to be emptied");

        Assert.Equal(5, runs.Count);
        Assert.Equal(Enumerable.Range(0, 5).Select(Item).Order(), node.Executed.Order());
        Assert.Contains(node.Logs.Entries, e => e.EventId == 5019);
    }

    [Fact]
    public async Task Options_ByTriggerName_NameTheTriggersConsumerIdAndTheProcessingListItTakesBackFrom()
    {
        await using var node = await RedisNode.CreateAsync();
        await node.StartAsync();
        var options = node.Services.GetRequiredKeyedService<RedisListTriggerOptions>(node.TriggerName);
        var consumer = options.ConsumerIdOf(node.Services.GetRequiredService<Baton.Nodes.IBatonNodes>());
        Assert.Equal(node.ConsumerId, consumer); // no ConsumerId set: the node's own name
        Assert.Equal(node.ProcessingList, options.ProcessingListKey(consumer, node.List));
        await node.StopAsync();

        // Items left where the options say this consumer holds them (as a crash leaves them) are what the trigger takes back.
        await node.Db.ListRightPushAsync(options.ProcessingListKey(consumer, node.List), [Item(0), Item(1)]);
        await node.RestartAsync();
        await node.WaitForSucceededRunsAsync(2);
        await Poll.UntilAsync(() => node.Db.ListLengthAsync(node.ProcessingList), n => n == 0, "the processing list to be emptied");
        Assert.Equal([Item(0), Item(1)], node.Executed.Order());

        var named = new RedisListTriggerOptions { ConsumerId = "set-by-app" };
        Assert.Equal("set-by-app", named.ConsumerIdOf(node.Services.GetRequiredService<Baton.Nodes.IBatonNodes>()));
    }

    [Fact]
    public async Task Trigger_Metrics_CountItemsMovedBatchesAcceptedAndDeadLetters()
    {
        await using var node = await RedisNode.CreateAsync();
        long moved = 0, accepted = 0, dead = 0;
        using var movedListener = node.Count("baton.redis.items.moved", v => Interlocked.Add(ref moved, v));
        using var acceptedListener = node.Count("baton.redis.batches.accepted", v => Interlocked.Add(ref accepted, v));
        using var deadListener = node.Count("baton.redis.items.dead_lettered", v => Interlocked.Add(ref dead, v));
        await node.Db.ListRightPushAsync(node.List, [.. Enumerable.Range(0, 10).Select(i => (RedisValue)Item(i)), "bad{", "worse["]);

        await node.StartAsync(o => o.BatchSize = 4);
        await node.WaitForSucceededRunsAsync(10);
        // The last batch's dead letters are counted just before the batch itself.
        await Poll.UntilAsync(() => Task.FromResult(Interlocked.Read(ref accepted)), n => n == 3, "the three batches to be counted");

        Assert.Equal(12, Interlocked.Read(ref moved));
        Assert.Equal(2, Interlocked.Read(ref dead));
    }

    [Fact]
    public async Task Trigger_BadJson_DeadLetteredRawWithReasonLogged()
    {
        await using var node = await RedisNode.CreateAsync();
        await node.Db.ListRightPushAsync(node.List, ["{not json", Item(1), "", Item(2)]);

        await node.StartAsync();
        await node.WaitForSucceededRunsAsync(2);
        var dead = await Poll.UntilAsync(() => node.Db.ListRangeAsync(node.List + ":failed"), d => d.Length == 2, "two dead letters");

        Assert.Equal(["{not json", ""], dead.Select(d => (string)d!));
        Assert.Equal(2, (await node.RunsAsync()).Count);
        // The dead letters are written before they are logged.
        var logged = await DeadLetterLogsAsync(node, 2);
        Assert.Equal(2, logged.Count);
        Assert.All(logged, e => Assert.Contains("not JSON", e.Message));
        await Poll.UntilAsync(() => node.Db.ListLengthAsync(node.ProcessingList), n => n == 0, "the processing list to be emptied");
    }

    [Fact]
    public async Task Trigger_DeadLetterKeyOfAnotherType_ErrorNamesThatKeyNothingLostOnceItIsDeleted()
    {
        // Before: the script's WRONGTYPE was logged as "unexpected failure on <the list>", which was a good list.
        await using var node = await RedisNode.CreateAsync();
        await node.Db.HashSetAsync(node.List + ":failed", "note", "legacy");
        await node.Db.ListRightPushAsync(node.List, [Item(1), "{not json", Item(2)]);

        await node.StartAsync();
        var logged = await Poll.UntilAsync(() => Task.FromResult(node.Logs.Entries.FirstOrDefault(e => e.EventId == 5020)), e => e is not null, "the failure logged");
        Assert.Contains($"the dead-letter key {node.List}:failed holds a hash, not a list", logged!.Exception, StringComparison.Ordinal);

        await node.Db.KeyDeleteAsync(node.List + ":failed");
        await node.WaitForSucceededRunsAsync(2);
        var dead = await Poll.UntilAsync(() => node.Db.ListRangeAsync(node.List + ":failed"), d => d.Length == 1, "the bad item dead-lettered");
        Assert.Equal("{not json", (string)dead[0]!);
    }

    [Fact]
    public async Task Trigger_InboxRefusesItem_DeadLetteredWithInboxReason()
    {
        await using var node = await RedisNode.CreateAsync();
        await node.Db.ListRightPushAsync(node.List, [Item(1), "\"a string, not an order\""]);

        await node.StartAsync(workflows: b => b.AddWorkflow<Order, string>("record", (_, o, _) => Task.FromResult(o.Sku)));
        var dead = await Poll.UntilAsync(() => node.Db.ListRangeAsync(node.List + ":failed"), d => d.Length == 2, "two dead letters");

        Assert.Contains("\"a string, not an order\"", dead.Select(d => (string)d!));
        Assert.Empty(await node.RunsAsync());
        Assert.Contains(await DeadLetterLogsAsync(node, 2), e => e.Message.Contains("the inbox refused it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Trigger_TenMegabyteItem_DeadLetteredRawAsTooLargeOthersRun()
    {
        await using var node = await RedisNode.CreateAsync();
        var huge = $$"""{"blob":"{{new string('x', 10 * 1024 * 1024)}}"}""";
        await node.Db.ListRightPushAsync(node.List, [Item(1), huge, Item(2)]);

        await node.StartAsync();
        await node.WaitForSucceededRunsAsync(2);
        var dead = await Poll.UntilAsync(() => node.Db.ListRangeAsync(node.List + ":failed"), d => d.Length == 1, "the huge item to be dead-lettered");

        Assert.Equal(huge, (string)dead[0]!);
        Assert.Equal(2, (await node.RunsAsync()).Count);
        Assert.Contains(await DeadLetterLogsAsync(node, 1), e => e.Message.Contains("more than MaxItemBytes 1048576", StringComparison.Ordinal));
        Assert.DoesNotContain(node.Logs.Entries, e => e.Message.Contains("xxxxxxxx", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAsync_IdleAndDuringOutage_StopsPromptlyAndLogsStopped()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await using var node = await RedisNode.CreateAsync(redis.Configuration);
        await node.StartAsync();
        await node.Db.ListRightPushAsync(node.List, Item(1));
        await node.WaitForSucceededRunsAsync(1);
        redis.Kill();
        await Poll.UntilAsync(() => Task.FromResult(node.Logs.Entries.Count(e => e.EventId == 5012)), n => n >= 1, "the outage to be logged");

        var stopping = node.StopAsync();
        var finished = await Task.WhenAny(stopping, Task.Delay(TimeSpan.FromSeconds(15)));

        Assert.Same(stopping, finished);
        Assert.Single(node.Logs.Entries, e => e.EventId == 5011);
    }

    [Fact]
    public void AddRedisListTrigger_BadOptions_ArgumentExceptionNamingEach()
    {
        var builder = new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddBaton();

        var error = Assert.Throws<ArgumentException>(() => builder.AddRedisListTrigger("t", o =>
        {
            o.BatchSize = 0;
            o.MaxItemBytes = -1;
            o.HeartbeatInterval = TimeSpan.FromSeconds(40);
        }));

        Assert.Contains("BatchSize must be 1 to 1000", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxItemBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("set Workflow", error.Message, StringComparison.Ordinal);
        Assert.Contains("set Lists or DiscoverLists", error.Message, StringComparison.Ordinal);
        Assert.Contains("ConsumerTimeout must be longer than HeartbeatInterval", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultMapper_ItemNotJson_ReasonSaysWhereButQuotesNoneOfTheItem()
    {
        // Before: the reason was the JSON reader's message, which quotes a bad literal with the rest of the item after it
        // ("'nope, "token": "sk_live_abc"}' is an invalid JSON literal"); it is logged (EventId 5014), though the README
        // says the item itself is never logged.
        const string Item = """{"ok": nope, "token": "sk_live_abc"}""";

        var mapped = DefaultListMapper.Map(new RedisListBatch("orders", [Item], "batch-1"), "wf");

        var rejected = Assert.Single(mapped.Plan.Rejected);
        Assert.Empty(mapped.Plan.Messages);
        Assert.Same(Item, rejected.Item);
        Assert.Matches(@"^not JSON: invalid at line 1, byte \d+$", rejected.Reason);
        Assert.DoesNotContain("sk_live", rejected.Reason, StringComparison.Ordinal);
    }

    private sealed record Order(string Sku);
}
