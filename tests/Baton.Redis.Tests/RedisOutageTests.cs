using Baton.Runs;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Baton.Redis.Tests;

/// <summary>A private redis-server that dies and comes back, and one with a password.</summary>
public sealed class RedisOutageTests
{
    private static string Item(int i) => $$"""{"n":{{i}}}""";

    [Fact]
    public async Task Trigger_RedisKilledAndRestartedMidConsumption_ResumesAndLosesNothing()
    {
        await using var redis = await PrivateRedis.StartAsync(appendOnly: true);
        await using var node = await RedisNode.CreateAsync(redis.Configuration + ",connectRetry=1,connectTimeout=1000");
        const int count = 3000;
        await node.Db.ListRightPushAsync(node.List, [.. Enumerable.Range(0, count).Select(i => (RedisValue)Item(i))]);

        // Batches after the first 500 items are held until Redis is down, so Redis is killed with items left however slowly
        // this polls (a pace alone only bounds the rate: a poll delayed past the end of the list found it drained).
        await node.StartAsync(o => o.BatchSize = 50, inboxHoldAfter: 500);
        await Poll.UntilAsync(node.RunsAsync, runs => runs.Count >= 200, "some items to be consumed");
        var left = await node.Db.ListLengthAsync(node.List);
        redis.Kill();
        Assert.True(left > 0, "Redis was killed after the list was drained: the test did not cut consumption");
        await Poll.UntilAsync(() => Task.FromResult(node.Logs.Entries.Count(e => e.EventId == 5012)), n => n >= 1, "the outage to be logged");
        ((PacedInbox)node.Services.GetRequiredService<Baton.Inbox.IBatonInbox>()).Release();
        await redis.StartAgainAsync();
        var runs = await node.WaitForSucceededRunsAsync(count, TimeSpan.FromSeconds(90));
        await Poll.UntilAsync(() => node.Db.ListLengthAsync(node.ProcessingList), n => n == 0, "the processing list to be emptied");

        Assert.Equal(count, runs.Count);
        Assert.Equal(count, node.Executed.Count);
        Assert.Equal(Enumerable.Range(0, count).Select(Item).Order(), node.Executed.Order());
        Assert.Equal(0, await node.Db.ListLengthAsync(node.List));
        Assert.Equal(1, node.Logs.Entries.Count(e => e.EventId == 5012));
        await Poll.UntilAsync(() => Task.FromResult(node.Logs.Entries.Count(e => e.EventId == 5013)), n => n == 1, "the resume to be logged");
    }

    [Fact]
    public async Task AddRedis_UrlWithPassword_ConsumesAndPasswordNeverLoggedEvenInOutage()
    {
        const string password = "pa55-Zq9-secret";
        await using var redis = await PrivateRedis.StartAsync(password: password);
        await using var node = await RedisNode.CreateAsync(redis.Url);

        await node.StartAsync();
        await node.Db.ListRightPushAsync(node.List, Item(1));
        await node.WaitForSucceededRunsAsync(1);
        redis.Kill();
        await Poll.UntilAsync(() => Task.FromResult(node.Logs.Entries.Count(e => e.EventId == 5012)), n => n >= 1, "the outage to be logged");

        var connection = (IRedisConnection)node.Services.GetService(typeof(IRedisConnection))!;
        Assert.DoesNotContain(password, node.Logs.AllText(), StringComparison.Ordinal);
        Assert.DoesNotContain(password, connection.Description, StringComparison.Ordinal);
        Assert.Equal($"127.0.0.1:{redis.Port}/0", connection.Description);
        Assert.False(connection.IsConnected);
    }

    [Fact]
    public async Task Trigger_RedisDownAtStart_HostStartsAndConsumesOnceRedisAnswers()
    {
        // The registry and the items are written before Redis dies (AOF, appendfsync always, so they survive): written after
        // the restart, the first discovery that succeeded could run before them, find no list and wait the 10 min interval
        // (CI, 2026-12-05: no run in 90 s).
        await using var redis = await PrivateRedis.StartAsync(appendOnly: true);
        await using var node = await RedisNode.CreateAsync(redis.Configuration + ",connectRetry=1,connectTimeout=500");
        var registry = node.Prefix + "lists";
        await node.Db.SetAddAsync(registry, node.List);
        await node.Db.ListRightPushAsync(node.List, [Item(1), Item(2)]);
        redis.Kill();

        var started = node.StartAsync(o =>
        {
            o.Lists.Clear();
            o.DiscoverLists = async (db, _) => [.. (await db.SetMembersAsync(registry)).Select(v => (string)v!)];
            o.MaxErrorDelay = TimeSpan.FromMilliseconds(200);
            o.DiscoveryInterval = TimeSpan.FromMinutes(10);
        });
        Assert.Same(started, await Task.WhenAny(started, Task.Delay(TimeSpan.FromSeconds(10))));
        await Poll.UntilAsync(() => Task.FromResult(node.Logs.Entries.Count(e => e.EventId == 5012)), n => n >= 1, "the outage to be logged");
        await redis.StartAgainAsync();

        // Long before the 10 min discovery interval: a failed discovery round is retried with the error backoff.
        var runs = await node.WaitForSucceededRunsAsync(2, TimeSpan.FromSeconds(90));

        Assert.Equal(2, runs.Count);
        Assert.Equal(1, node.Logs.Entries.Count(e => e.EventId == 5012));
    }

    [Fact]
    public async Task Trigger_RedisDiesWhileWaitingOutAPredecessorsHeartbeat_WaitsAgainWhenItAnswersAndTakesTheIdOver()
    {
        // Before: the read after the wait threw, the trigger failed and stopped the host. The dead predecessor's key survives
        // the restart (AOF), so the trigger must wait it out again rather than take it for a live twin's.
        await using var redis = await PrivateRedis.StartAsync(appendOnly: true);
        await using var node = await RedisNode.CreateAsync(redis.Configuration + ",connectRetry=1,connectTimeout=500");
        const string Dead = "0123456789abcdef0123456789abcdef 2026-12-06T00:00:00.0000000+00:00";
        await node.Db.StringSetAsync(node.HeartbeatKey, Dead, TimeSpan.FromHours(1));
        await node.Db.ListRightPushAsync(node.List, [Item(1), Item(2), Item(3)]);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);

        await node.StartAsync(
            o =>
            {
                o.HeartbeatInterval = TimeSpan.FromSeconds(2);
                o.MaxErrorDelay = TimeSpan.FromMilliseconds(200);
            },
            time: time);
        await Poll.UntilAsync(() => Task.FromResult(node.Logs.Entries.Count(e => e.EventId == 5022)), n => n == 1, "the wait for the predecessor");
        redis.Kill();
        time.Advance(TimeSpan.FromSeconds(3));
        await Poll.UntilAsync(() => Task.FromResult(node.Logs.Entries.Count(e => e.EventId == 5012)), n => n >= 1, "the outage to be logged");
        Assert.Empty(node.Executed);
        await redis.StartAgainAsync();

        var runs = await Poll.UntilAsync(
            async () =>
            {
                time.Advance(TimeSpan.FromMilliseconds(50));
                return await node.RunsAsync();
            },
            r => r.Count(run => run.Status == RunStatus.Succeeded) == 3,
            "the three items to run",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(10));

        Assert.False(node.TriggerTask.IsCompleted, node.TriggerTask.Exception?.ToString());
        Assert.Equal(2, node.Logs.Entries.Count(e => e.EventId == 5022));
        Assert.DoesNotContain(node.Logs.Entries, e => e.EventId == 5023);
        Assert.Equal([Item(1), Item(2), Item(3)], node.Executed.Order());
        Assert.NotEqual(Dead, (string?)await node.Db.StringGetAsync(node.HeartbeatKey));
    }

    [Fact]
    public async Task Trigger_WrongPassword_LoggedAsRefusedCredentialsNotAsUnreachableAndPasswordNeverLogged()
    {
        const string password = "right-Pa55-secret";
        const string wrong = "wrong-Pa55-secret";
        await using var redis = await PrivateRedis.StartAsync(password: password);
        await using var node = await RedisNode.CreateAsync(redis.Url);
        node.RedisConfiguration = $"127.0.0.1:{redis.Port},password={wrong},connectRetry=1,connectTimeout=1000";

        await node.StartAsync(o => o.MaxErrorDelay = TimeSpan.FromMilliseconds(200));
        var refused = await Poll.UntilAsync(
            () => Task.FromResult(node.Logs.Entries.Where(e => e.EventId == 5024).ToList()), e => e.Count >= 1, "the refused credentials to be logged");

        Assert.Contains("refused the credentials", refused[0].Message, StringComparison.Ordinal);
        Assert.DoesNotContain(node.Logs.Entries, e => e.EventId == 5012);
        Assert.DoesNotContain(wrong, node.Logs.AllText(), StringComparison.Ordinal);
        Assert.False(node.TriggerTask.IsCompleted);
    }
}
