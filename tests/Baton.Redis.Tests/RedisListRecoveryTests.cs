using System.Diagnostics.Metrics;
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
        Assert.Contains(node.Logs.Entries, e => e.EventId == 5018 && e.Message.Contains("dead consumer live", StringComparison.Ordinal));
        Assert.True(await node.Db.KeyExistsAsync(p + "consumer:node-a"));
    }

    [Fact]
    public async Task Trigger_ConflictOnSingletonKey_BatchOfferedAgainNoItemLostOrDoubled()
    {
        await using var node = await RedisNode.CreateAsync();
        var conflicts = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Baton.Redis" && instrument.Name == "baton.redis.batches.conflicted")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref conflicts, value));
        listener.Start();
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
    public async Task Trigger_ConflictOnBatchMessages_SameBatchIdOfferedAgainEachItemInOneRun()
    {
        await using var node = await RedisNode.CreateAsync();
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
        // The second batch waits behind the first run: offered again and again, always the same items and id.
        await Poll.UntilAsync(() => Task.FromResult(offered.Count), n => n >= 4, "the second batch to be offered three times");
        release.SetResult();
        var runs = await node.WaitForSucceededRunsAsync(4);

        Assert.Equal(4, runs.Count);
        Assert.Equal(Enumerable.Range(0, 20).Select(Item).Order(), node.Executed.Order());
        var byId = offered.GroupBy(b => b.BatchId).ToList();
        Assert.Equal(4, byId.Count);
        Assert.All(byId, g => Assert.Single(g.Select(b => string.Join('|', b.Items)).Distinct()));
        Assert.Equal(byId.Select(g => g.Key).Order(), runs.Select(r => r.IdempotencyKey).Order());
        Assert.True(offered.Count > 4, "no batch was offered twice: the conflict path was not exercised");
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
}
