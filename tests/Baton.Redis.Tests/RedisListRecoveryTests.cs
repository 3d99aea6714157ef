using Baton.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Baton.Redis.Tests;

/// <summary>Dead consumers, conflicts with a singleton key, and list discovery, on the shared Redis.</summary>
public sealed class RedisListRecoveryTests
{
    private static string Item(int i) => $$"""{"n":{{i}}}""";

    private static RedisValue[] Items(int from, int count) => [.. Enumerable.Range(from, count).Select(i => (RedisValue)Item(i))];

    /// <summary>Polls <paramref name="read"/> and moves the fake clock a little between polls (the trigger's idle waits run on it).</summary>
    private static Task<T> AdvanceUntilAsync<T>(FakeTimeProvider time, Func<Task<T>> read, Func<T, bool> done, string what) =>
        Poll.UntilAsync(
            async () =>
            {
                time.Advance(TimeSpan.FromMilliseconds(20));
                return await read();
            },
            done,
            what,
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(10));

    /// <summary>
    /// Puts a relay between <paramref name="node"/> (not started yet) and Redis that loses the acknowledgement of the
    /// non-JSON item it returns, which dead-letters that item: the reply only, or (<paramref name="redisRunsIt"/> false)
    /// the command too.
    /// </summary>
    private static (ReplyLosingRedisProxy Proxy, string Bad) RelayLosingTheAck(RedisNode node, bool redisRunsIt)
    {
        var proxy = new ReplyLosingRedisProxy(node.RedisPort);
        node.RedisConfiguration = proxy.Configuration;
        var bad = $"not JSON, its acknowledgement lost {Guid.NewGuid():N}";
        if (redisRunsIt)
        {
            proxy.LoseRepliesAfter(bad);
        }
        else
        {
            proxy.LoseCommand(bad);
        }

        return (proxy, bad);
    }

    [Fact]
    public async Task Trigger_SecondProcessWithTheSameConsumerId_FailsBeforeMovingAnythingAndTheFirstGoesOn()
    {
        // Before: both consumed under one id, sharing the processing lists, and one's acknowledgement (LTRIM by count)
        // dropped items the other had just moved (the brand-insights app lost chunks with the seed's ORCHESTRATOR_ID in
        // two containers).
        var prefix = SharedRedis.NewPrefix();
        await using var first = await RedisNode.CreateAsync(null, prefix, "twin");
        await using var second = await RedisNode.CreateAsync(null, prefix, "twin");
        static void Fast(RedisListTriggerOptions o) => o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
        await first.StartAsync(Fast);
        // Its heartbeat written first (two starting at once both see none, and whichever writes second stops).
        await Poll.UntilAsync(() => first.Db.KeyExistsAsync(first.HeartbeatKey), exists => exists, "the first node's heartbeat");

        await second.StartAsync(Fast);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => second.TriggerTask.WaitAsync(TimeSpan.FromSeconds(30)));
        await first.Db.ListRightPushAsync(first.List, Items(0, 20));
        await first.WaitForSucceededRunsAsync(20);

        Assert.Contains("another live process consumes as 'twin'", error.Message, StringComparison.Ordinal);
        Assert.Contains(second.Logs.Entries, e => e.EventId == 5023);
        Assert.Empty(second.Executed);
        Assert.Equal(Enumerable.Range(0, 20).Select(Item).Order(), first.Executed.Order());
        Assert.False(first.TriggerTask.IsCompleted);
    }

    [Fact]
    public async Task Trigger_HeartbeatLeftByACrashedProcess_TakenOverAfterOneAndAHalfIntervals()
    {
        await using var node = await RedisNode.CreateAsync();
        // What a SIGKILLed process with this consumer id leaves: its mark, expiring only after ConsumerTimeout.
        const string Dead = "0123456789abcdef0123456789abcdef 2026-12-06T00:00:00.0000000+00:00";
        await node.Db.StringSetAsync(node.HeartbeatKey, Dead, TimeSpan.FromSeconds(30));
        await node.Db.ListRightPushAsync(node.List, Items(0, 3));

        await node.StartAsync(o => o.HeartbeatInterval = TimeSpan.FromMilliseconds(200));
        await node.WaitForSucceededRunsAsync(3);

        Assert.Contains(node.Logs.Entries, e => e.EventId == 5022);
        Assert.NotEqual(Dead, (string?)await node.Db.StringGetAsync(node.HeartbeatKey));
        Assert.False(node.TriggerTask.IsCompleted);
    }

    [Fact]
    public async Task Trigger_GracefulStop_DeletesItsHeartbeatSoARestartTakesTheIdAtOnce()
    {
        await using var node = await RedisNode.CreateAsync();
        await node.StartAsync();
        await Poll.UntilAsync(() => node.Db.KeyExistsAsync(node.HeartbeatKey), exists => exists, "the heartbeat");

        await node.StopAsync();
        Assert.False(await node.Db.KeyExistsAsync(node.HeartbeatKey));
        await node.RestartAsync();
        await node.Db.ListRightPushAsync(node.List, Items(0, 2));
        await node.WaitForSucceededRunsAsync(2);

        Assert.DoesNotContain(node.Logs.Entries, e => e.EventId == 5022);
    }

    [Fact]
    public async Task Trigger_DeadConsumer_ProcessingListPushedBackAndRunOnce_LiveConsumerUntouchedUntilHeartbeatExpires()
    {
        await using var node = await RedisNode.CreateAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var p = node.Prefix;
        // "dead" holds 5 items and has no heartbeat key; "live" holds 3 and its heartbeat key exists.
        await node.Db.SetAddAsync(p + "consumers", ["dead", "live"]);
        await node.Db.SetAddAsync(p + "consumer:dead:lists", node.List);
        await node.Db.SetAddAsync(p + "consumer:live:lists", node.List);
        await node.Db.ListRightPushAsync($"{p}processing:dead:{node.List}", Items(0, 5));
        await node.Db.ListRightPushAsync($"{p}processing:live:{node.List}", Items(5, 3));
        await node.Db.StringSetAsync(p + "consumer:live", "alive", TimeSpan.FromHours(1));

        await node.StartAsync(o => o.HeartbeatInterval = TimeSpan.FromSeconds(5), time: time);
        await AdvanceUntilAsync(time, node.RunsAsync, runs => runs.Count == 5 && runs.All(r => r.Status == Runs.RunStatus.Succeeded), "the dead consumer's 5 items to run");

        Assert.Equal(3, await node.Db.ListLengthAsync($"{p}processing:live:{node.List}"));
        Assert.False(await node.Db.KeyExistsAsync($"{p}processing:dead:{node.List}"));
        Assert.False(await node.Db.SetContainsAsync(p + "consumers", "dead"));

        // The live consumer's heartbeat expires; the next heartbeat round of this node recovers its items.
        await node.Db.KeyDeleteAsync(p + "consumer:live");
        time.Advance(TimeSpan.FromSeconds(5));
        await AdvanceUntilAsync(time, node.RunsAsync, runs => runs.Count == 8 && runs.All(r => r.Status == Runs.RunStatus.Succeeded), "the expired consumer's 3 items to run");

        Assert.Equal(Enumerable.Range(0, 8).Select(Item).Order(), node.Executed.Order());
        Assert.False(await node.Db.KeyExistsAsync($"{p}processing:live:{node.List}"));
        // Logged after the recovery script has pushed the items back, which is what the runs above needed.
        await Poll.UntilAsync(
            () => Task.FromResult(node.Logs.Entries.Any(e => e.EventId == 5018 && e.Message.Contains("dead consumer live", StringComparison.Ordinal))), seen => seen, "the recovery to be logged");
        Assert.True(await node.Db.KeyExistsAsync(p + "consumer:node-a"));
    }

    [Fact]
    public async Task Trigger_ConflictOnSingletonKey_BatchOfferedAgainNoItemLostOrDoubled()
    {
        await using var node = await RedisNode.CreateAsync();
        var conflicts = 0L;
        using var listener = node.Count("baton.redis.batches.conflicted", v => Interlocked.Add(ref conflicts, v));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await node.Db.ListRightPushAsync(node.List, Items(0, 20));

        await node.StartAsync(
            o => o.BatchSize = 7,
            b => b.AddWorkflow<System.Text.Json.JsonElement, string>(
                "record",
                async (ctx, input, ct) =>
                {
                    // The first run holds the singleton until the test has seen the rest of its batch conflict.
                    await release.Task.WaitAsync(ct);
                    node.Executed.Enqueue(input.GetRawText());
                    return "ok";
                },
                w => w.ConcurrencyKey = "one-at-a-time"));
        await Poll.UntilAsync(() => Task.FromResult(Interlocked.Read(ref conflicts)), c => c >= 2, "a batch to be in conflict twice");
        Assert.Single(await node.RunsAsync());
        release.SetResult();
        var runs = await node.WaitForSucceededRunsAsync(20);

        Assert.Equal(20, runs.Count);
        Assert.Equal(Enumerable.Range(0, 20).Select(Item).Order(), node.Executed.Order());
        await Poll.UntilAsync(() => node.Db.ListLengthAsync(node.ProcessingList), n => n == 0, "the processing list to be emptied");
        Assert.Equal(0, await node.Db.ListLengthAsync(node.List));
        // Offering its own conflicted batch again is routine, not a leftover of a crash.
        Assert.DoesNotContain(node.Logs.Entries, e => e.EventId == 5019);
    }

    [Fact]
    public async Task Trigger_ConflictHeldBatchWithANonUtf8Item_DeadLetteredWithItsOwnBytes()
    {
        // One batch of three: item 0 starts a run that waits, item 1 conflicts with it (singleton key), the third is not
        // UTF-8 and the default mapper rejects it. The batch is held and offered again with the plan of its first offer.
        // Before (in the first version of that reuse): the reject referred to the first offer's string, which the re-offer's
        // items did not hold, so the text with U+FFFD in place of FF FE was pushed instead of the item's bytes.
        await using var node = await RedisNode.CreateAsync();
        var conflicts = 0L;
        using var listener = node.Count("baton.redis.batches.conflicted", v => Interlocked.Add(ref conflicts, v));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        byte[] notUtf8 = [0xFF, 0xFE, .. " not json"u8];
        await node.Db.ListRightPushAsync(node.List, [(RedisValue)"""{"n":0}""", (RedisValue)"""{"n":1}""", (RedisValue)notUtf8]);

        await node.StartAsync(
            o => o.BatchSize = 3,
            b => b.AddWorkflow<System.Text.Json.JsonElement, string>(
                "record",
                async (ctx, input, ct) =>
                {
                    await release.Task.WaitAsync(ct);
                    node.Executed.Enqueue(input.GetRawText());
                    return "ok";
                },
                w => w.ConcurrencyKey = "brand"));
        await Poll.UntilAsync(() => Task.FromResult(Interlocked.Read(ref conflicts)), n => n >= 2, "the batch to be held and offered again");
        release.SetResult();
        await node.WaitForSucceededRunsAsync(2);
        var dead = await Poll.UntilAsync(() => node.Db.ListRangeAsync(node.List + ":failed"), d => d.Length == 1, "the bad item dead-lettered");

        Assert.Equal(Convert.ToHexString(notUtf8), Convert.ToHexString((byte[])dead[0]!));
    }

    [Fact]
    public async Task Trigger_ConflictOnBatchMessages_SameBatchOfferedAgainMappedOnceEachItemInOneRun()
    {
        await using var node = await RedisNode.CreateAsync();
        var conflicts = 0L;
        using var listener = node.Count("baton.redis.batches.conflicted", v => Interlocked.Add(ref conflicts, v));
        var offered = new System.Collections.Concurrent.ConcurrentQueue<RedisListBatch>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await node.Db.ListRightPushAsync(node.List, Items(0, 20));

        await node.StartAsync(
            o =>
            {
                o.BatchSize = 5;
                o.Map = batch =>
                {
                    offered.Enqueue(batch);
                    var input = System.Text.Json.JsonSerializer.SerializeToElement(batch.Items);
                    return new RedisBatchPlan([new Inbox.InboxMessage { MessageId = batch.BatchId, Workflow = "record", Input = input }], []);
                };
            },
            b => b.AddWorkflow<string[], string>(
                "record",
                async (ctx, items, ct) =>
                {
                    await release.Task.WaitAsync(ct);
                    foreach (var item in items)
                    {
                        node.Executed.Enqueue(item);
                    }

                    return "ok";
                },
                w => w.ConcurrencyKey = "brand"));
        // The second batch waits behind the first run: offered again and again with the plan it was mapped to once.
        // Before: mapped again on every offer (a busy brand's next batch was parsed every 20 ms, 198 times for 10 batches).
        await Poll.UntilAsync(() => Task.FromResult(Interlocked.Read(ref conflicts)), n => n >= 3, "the second batch to be offered again three times");
        Assert.Equal(2, offered.Count);
        release.SetResult();
        var runs = await node.WaitForSucceededRunsAsync(4);

        Assert.Equal(4, runs.Count);
        Assert.Equal(Enumerable.Range(0, 20).Select(Item).Order(), node.Executed.Order());
        Assert.Equal(4, offered.Count);
        Assert.Equal(offered.Select(b => b.BatchId).Order(), runs.Select(r => r.IdempotencyKey).Order());
    }

    [Fact]
    public async Task Trigger_ListLeaseHeldByAnother_HeldItemsOfferedNothingMovedUntilLeaseIsOwn()
    {
        await using var node = await RedisNode.CreateAsync();
        var lease = node.Prefix + "lease:items";
        // This consumer holds 2 items from before; the list has 3 more; the lease names another consumer.
        await node.Db.StringSetAsync(lease, "node-b");
        await node.Db.SetAddAsync(node.Prefix + "consumer:node-a:lists", node.List);
        await node.Db.ListRightPushAsync(node.ProcessingList, Items(0, 2));
        await node.Db.ListRightPushAsync(node.List, Items(2, 3));

        await node.StartAsync(o => o.ListLease = key => key == node.List ? lease : null);
        await node.WaitForSucceededRunsAsync(2);
        // Until a take is refused for the lease, or (the defect) items are moved anyway.
        await Poll.UntilAsync(
            async () => node.Logs.Entries.Any(e => e.EventId == 5021) || await node.Db.ListLengthAsync(node.List) < 3, done => done, "a take refused for the lease");

        Assert.Equal(3, await node.Db.ListLengthAsync(node.List));
        Assert.Equal(0, await node.Db.ListLengthAsync(node.ProcessingList));
        Assert.Equal(Enumerable.Range(0, 2).Select(Item).Order(), node.Executed.Order());
        Assert.Contains(node.Logs.Entries, e => e.EventId == 5021 && e.Message.Contains(lease, StringComparison.Ordinal));

        // Once the lease names this consumer, the rest follows.
        await node.Db.StringSetAsync(lease, "node-a");
        await node.WaitForSucceededRunsAsync(5);

        Assert.Equal(0, await node.Db.ListLengthAsync(node.List));
        Assert.Equal(Enumerable.Range(0, 5).Select(Item).Order(), node.Executed.Order());
        Assert.Single(node.Logs.Entries, e => e.EventId == 5021);
    }

    [Fact]
    public async Task Trigger_DiscoverLists_NewListPickedUpRemovedListNoLongerRead()
    {
        await using var node = await RedisNode.CreateAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var registry = node.Prefix + "lists";
        var (a, b) = (node.Prefix + "a", node.Prefix + "b");
        await node.Db.SetAddAsync(registry, a);
        await node.Db.ListRightPushAsync(a, Items(0, 3));
        await node.Db.ListRightPushAsync(b, Items(3, 2));

        await node.StartAsync(
            o =>
            {
                o.Lists.Clear();
                o.DiscoveryInterval = TimeSpan.FromSeconds(30);
                o.DiscoverLists = async (db, _) => [.. (await db.SetMembersAsync(registry)).Select(v => (string)v!)];
            },
            time: time);
        await AdvanceUntilAsync(time, node.RunsAsync, runs => runs.Count == 3, "list a's items to run");
        Assert.Equal(2, await node.Db.ListLengthAsync(b));

        await node.Db.SetAddAsync(registry, b);
        await node.Db.SetRemoveAsync(registry, a);
        time.Advance(TimeSpan.FromSeconds(30));
        await AdvanceUntilAsync(time, node.RunsAsync, runs => runs.Count == 5, "list b's items to run once discovered");
        await node.Db.ListRightPushAsync(a, Item(99));
        await node.Db.ListRightPushAsync(b, Item(6));
        await AdvanceUntilAsync(time, node.RunsAsync, runs => runs.Count == 6, "the new item of list b to run");

        Assert.Equal(1, await node.Db.ListLengthAsync(a));
        Assert.DoesNotContain(Item(99), node.Executed);
    }

    [Fact]
    public async Task Trigger_DiscoveryThrows_PreviousListsKeptAndFailureLogged()
    {
        await using var node = await RedisNode.CreateAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var calls = 0;
        await node.StartAsync(
            o =>
            {
                o.Lists.Clear();
                o.DiscoverLists = (_, _) => Interlocked.Increment(ref calls) == 1
                    ? Task.FromResult<IReadOnlyCollection<string>>([node.List])
                    : throw new InvalidOperationException("brands:list holds the wrong type");
            },
            time: time);
        // The discovery timer starts once the first round is done: move the clock until a second round ran.
        await Poll.UntilAsync(
            () =>
            {
                time.Advance(TimeSpan.FromSeconds(1));
                return Task.FromResult(Volatile.Read(ref calls));
            },
            n => n >= 2,
            "the second discovery round");
        await node.Db.ListRightPushAsync(node.List, Item(1));

        await AdvanceUntilAsync(time, node.RunsAsync, runs => runs.Count == 1, "the item of the kept list to run");

        Assert.Contains(node.Logs.Entries, e => e.EventId == 5017 && e.Exception!.Contains("wrong type", StringComparison.Ordinal) && e.Message.Contains("previous 1 lists", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Trigger_TwoConsumersOnOneList_EveryItemTakenByExactlyOne()
    {
        await using var a = await RedisNode.CreateAsync();
        await using var b = await RedisNode.CreateAsync(null, a.Prefix, "node-b");
        await Task.WhenAll(a.StartAsync(o => o.BatchSize = 20), b.StartAsync(o => o.BatchSize = 20));
        // Both already poll the list when the items arrive.
        await a.Db.ListRightPushAsync(a.List, Items(0, 3000));

        await Poll.UntilAsync(
            async () => (await a.RunsAsync()).Count + (await b.RunsAsync()).Count,
            n => n == 3000,
            "3,000 runs over both nodes",
            TimeSpan.FromSeconds(60));
        await a.WaitForSucceededRunsAsync((await a.RunsAsync()).Count);
        await b.WaitForSucceededRunsAsync((await b.RunsAsync()).Count);

        Assert.Equal(Enumerable.Range(0, 3000).Select(Item).Order(), a.Executed.Concat(b.Executed).Order());
        Assert.NotEmpty(a.Executed);
        Assert.NotEmpty(b.Executed);
        Assert.Equal(0, await a.Db.ListLengthAsync(a.List));
    }

    [Fact]
    public async Task Trigger_ListRemovedWhileHoldingConflictedBatch_BatchPushedBackToHeadInOrder()
    {
        await using var node = await RedisNode.CreateAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var registry = node.Prefix + "lists";
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await node.Db.SetAddAsync(registry, node.List);
        await node.Db.ListRightPushAsync(node.List, Items(0, 10));

        await node.StartAsync(
            o =>
            {
                o.Lists.Clear();
                o.BatchSize = 5;
                o.DiscoverLists = async (db, _) => [.. (await db.SetMembersAsync(registry)).Select(v => (string)v!)];
                o.Map = batch => new RedisBatchPlan(
                    [new Inbox.InboxMessage { MessageId = batch.BatchId, Workflow = "record", Input = System.Text.Json.JsonSerializer.SerializeToElement(batch.Items) }], []);
            },
            b => b.AddWorkflow<string[], string>(
                "record",
                async (ctx, items, ct) =>
                {
                    await release.Task.WaitAsync(ct);
                    return "ok";
                },
                w => w.ConcurrencyKey = "one"),
            time);
        // The first batch's run holds the key; the second batch sits in the processing list, in conflict.
        await AdvanceUntilAsync(
            time,
            async () => (await node.Db.ListLengthAsync(node.ProcessingList), await node.Db.ListLengthAsync(node.List)),
            lengths => lengths == (5, 0),
            "the second batch to be held in the processing list");

        await node.Db.SetRemoveAsync(registry, node.List);
        await Poll.UntilAsync(
            () =>
            {
                time.Advance(TimeSpan.FromSeconds(1));
                return node.Db.ListLengthAsync(node.List);
            },
            n => n == 5,
            "the held batch to go back onto the list");

        Assert.Equal(Enumerable.Range(5, 5).Select(Item), (await node.Db.ListRangeAsync(node.List)).Select(v => (string)v!));
        Assert.False(await node.Db.KeyExistsAsync(node.ProcessingList));
        // The list leaves the consumer's set in a command of its own, after the items are back.
        await Poll.UntilAsync(() => node.Db.SetContainsAsync($"{node.Prefix}consumer:{node.ConsumerId}:lists", node.List), member => !member, "the list to leave the consumer's set");
        Assert.Single(await node.RunsAsync());
        release.SetResult();
    }

    [Fact]
    public async Task Trigger_AckReplyLostThenListReleased_DeadLetterLoggedAndCountedOnce()
    {
        // Before: the acknowledgement that pushed the dead letter was carried out with its reply lost, and the list was
        // no longer discovered before the next take: its release dropped the unanswered acknowledgement, and the dead
        // letter was never logged nor counted (baton.redis.items.dead_lettered 0).
        await using var node = await RedisNode.CreateAsync();
        var (relay, bad) = RelayLosingTheAck(node, redisRunsIt: true);
        await using var proxy = relay;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var roundsWithout = 0;
        long dead = 0;
        using var deadListener = node.Count("baton.redis.items.dead_lettered", v => Interlocked.Add(ref dead, v));
        await node.StartAsync(
            o =>
            {
                o.Lists.Clear();
                o.DiscoveryInterval = TimeSpan.FromMilliseconds(10);
                o.DiscoverLists = (_, _) =>
                {
                    if (!proxy.Triggered.IsCompleted)
                    {
                        return Task.FromResult<IReadOnlyCollection<string>>([node.List]);
                    }

                    Interlocked.Increment(ref roundsWithout);
                    return Task.FromResult<IReadOnlyCollection<string>>([]);
                };
            },
            time: time);
        await node.Db.ListRightPushAsync(node.List, bad);
        await AdvanceUntilAsync(time, () => node.Db.ListLengthAsync(node.List + ":failed"), n => n == 1, "the acknowledgement carried out");
        // A second round without the list began after the first had marked it removed: the next step is its release.
        await AdvanceUntilAsync(time, () => Task.FromResult(Volatile.Read(ref roundsWithout)), n => n >= 2, "the list no longer discovered");
        proxy.Cut();

        await AdvanceUntilAsync(time, () => node.Db.SetContainsAsync($"{node.Prefix}consumer:{node.ConsumerId}:lists", node.List), member => !member, "the list released");
        Assert.Single(node.Logs.Entries, e => e.EventId == 5014);
        Assert.Equal(1, Interlocked.Read(ref dead));
        Assert.Equal(0, await node.Db.ListLengthAsync(node.List));
    }

    [Fact]
    public async Task Trigger_AckLostThenBatchRecoveredByAnotherProcess_DeadLetterCountedOnce()
    {
        // Before: the acknowledgement that would dead-letter the item never reached Redis (its call failed), and while this
        // process stood still its heartbeat expired and another process pushed the held batch back onto the list. The next
        // take found the processing list empty, read that as the acknowledgement carried out and counted the dead letter,
        // then took the item again and counted it again: 2 for the 1 item on the dead-letter list.
        await using var node = await RedisNode.CreateAsync();
        var (relay, bad) = RelayLosingTheAck(node, redisRunsIt: false);
        await using var proxy = relay;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        long dead = 0;
        long accepted = 0;
        using var deadListener = node.Count("baton.redis.items.dead_lettered", v => Interlocked.Add(ref dead, v));
        using var acceptedListener = node.Count("baton.redis.batches.accepted", v => Interlocked.Add(ref accepted, v));
        await node.StartAsync(time: time);
        await node.Db.ListRightPushAsync(node.List, bad);
        await AdvanceUntilAsync(time, () => Task.FromResult(proxy.Triggered.IsCompleted), sent => sent, "the acknowledgement sent");
        // What another process's heartbeat round does once this one's heartbeat key has expired.
        await node.Db.KeyDeleteAsync(node.HeartbeatKey);
        await node.Db.ScriptEvaluateAsync(
            RedisListScripts.Recover,
            [node.HeartbeatKey, $"{node.Prefix}consumer:{node.ConsumerId}:lists", $"{node.Prefix}consumers"],
            [RedisListKeys.ProcessingPrefix(node.Prefix, node.ConsumerId), node.ConsumerId]);
        Assert.Equal(1, await node.Db.ListLengthAsync(node.List));
        proxy.Cut();

        // A batch is counted accepted after its dead letters are logged and counted.
        await AdvanceUntilAsync(time, () => Task.FromResult(Interlocked.Read(ref accepted)), n => n == 1, "the item dead-lettered again");
        Assert.Equal(1, await node.Db.ListLengthAsync(node.List + ":failed"));
        Assert.Single(node.Logs.Entries, e => e.EventId == 5014);
        Assert.Equal(1, Interlocked.Read(ref dead));
        Assert.Equal(0, await node.Db.ListLengthAsync(node.List));
    }
}
