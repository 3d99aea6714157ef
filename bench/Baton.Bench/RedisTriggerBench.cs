using System.Diagnostics;
using System.Text.Json;
using Baton.Hosting;
using Baton.Inbox;
using Baton.Redis;
using Baton.Runs;
using Baton.Storage;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Baton.Bench;

/// <summary>
/// The list trigger end to end on the SQLite store, with a workflow that does nothing: items pushed onto 10 lists
/// beforehand, then the node started; the clock runs until every run succeeded and every list and processing list is
/// empty. Two mappings: the default (one run per item) and one run per batch of up to 100 items keyed by the batch id
/// (the brand app's shape). Usage: Baton.Bench --redis-raw [REDIS] --redis-trigger N
/// </summary>
internal static class RedisTriggerBench
{
    public static async Task<(double ItemsPerSecond, long Runs)> RunAsync(IDatabase db, string configuration, int items, bool perBatch)
    {
        var prefix = $"bench:redis-trigger:{Guid.NewGuid():N}:";
        var lists = Enumerable.Range(0, 10).Select(i => $"{prefix}list{i}").ToArray();
        var database = Path.Combine(Path.GetTempPath(), $"baton-redis-bench-{Guid.NewGuid():N}.db");
        for (var i = 0; i < items; i += 1000)
        {
            await Task.WhenAll(Enumerable.Range(i, Math.Min(1000, items - i))
                .GroupBy(n => lists[n % lists.Length])
                .Select(g => db.ListRightPushAsync(g.Key, [.. g.Select(n => (RedisValue)$"{{\"n\":{n}}}")])));
        }

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddBaton(o => o.RunScheduler = false)
            .UseSqlite(o => o.Path = database)
            .AddWorkflow<JsonElement, int>("noop", (_, input, _) => Task.FromResult(input.ValueKind == JsonValueKind.Array ? input.GetArrayLength() : 1))
            .AddRedis(configuration)
            .AddRedisListTrigger("bench", o =>
            {
                foreach (var list in lists)
                {
                    o.Lists.Add(list);
                }

                o.KeyPrefix = prefix;
                o.Workflow = "noop";
                if (perBatch)
                {
                    o.Map = batch => new RedisBatchPlan(
                        [new InboxMessage { MessageId = batch.BatchId, Workflow = "noop", Input = JsonSerializer.SerializeToElement(batch.Items) }], []);
                }
            });
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        var store = provider.GetRequiredService<IBatonStore>();
        var expectedRuns = perBatch ? -1 : items;
        var watch = Stopwatch.StartNew();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        long succeeded;
        while (true)
        {
            var counts = await store.Runs.CountRunsAsync(new CountRunsRequest());
            succeeded = counts[RunStatus.Succeeded];
            var active = counts.ByStatus.Where(p => p.Key != RunStatus.Succeeded).Sum(p => p.Value);
            if ((expectedRuns < 0 || succeeded == expectedRuns) && active == 0 && await DrainedAsync(db, lists, prefix))
            {
                break;
            }

            await Task.Delay(10);
        }

        var elapsed = watch.Elapsed;
        for (var i = hosted.Count - 1; i >= 0; i--)
        {
            await hosted[i].StopAsync(CancellationToken.None);
        }

        var keys = new List<RedisKey>();
        await foreach (var key in db.Multiplexer.GetServers()[0].KeysAsync(pattern: prefix + "*"))
        {
            keys.Add(key);
        }

        if (keys.Count > 0)
        {
            await db.KeyDeleteAsync([.. keys]);
        }

        foreach (var suffix in new[] { "", "-wal", "-shm", ".lock" })
        {
            File.Delete(database + suffix);
        }

        return (items / elapsed.TotalSeconds, succeeded);
    }

    private static async Task<bool> DrainedAsync(IDatabase db, string[] lists, string prefix)
    {
        foreach (var list in lists)
        {
            if (await db.ListLengthAsync(list) > 0)
            {
                return false;
            }
        }

        var server = db.Multiplexer.GetServers()[0];
        await foreach (var _ in server.KeysAsync(pattern: prefix + "processing:*"))
        {
            return false;
        }

        return true;
    }
}
