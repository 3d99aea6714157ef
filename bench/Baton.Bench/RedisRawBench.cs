using System.Diagnostics;
using System.Globalization;
using Baton.Redis;
using StackExchange.Redis;

namespace Baton.Bench;

/// <summary>
/// The raw limit of reliable list consumption on Redis, with nothing done with the items: one item per round trip
/// (<c>LMOVE src processing LEFT RIGHT</c>, then <c>LREM processing 1 item</c>: the seed-001 pattern made reliable), and
/// the batched form the list trigger uses (the take script moving up to 100 items, then the ack script trimming them),
/// each with 1 and 4 consumers (4 lists, one consumer each, on one multiplexer). Keys are unique per run and deleted.
/// Usage: Baton.Bench --redis-raw [CONFIGURATION] [--redis-items 20000] [--redis-trigger N (also the trigger end to end, see RedisTriggerBench)]
/// </summary>
internal static class RedisRawBench
{
    public static async Task RunAsync(string[] args)
    {
        var index = Array.IndexOf(args, "--redis-raw");
        var configuration = index + 1 < args.Length && !args[index + 1].StartsWith("--", StringComparison.Ordinal)
            ? args[index + 1]
            : Environment.GetEnvironmentVariable("BATON_REDIS") ?? "127.0.0.1:6379";
        var itemsIndex = Array.IndexOf(args, "--redis-items");
        var items = itemsIndex >= 0 ? int.Parse(args[itemsIndex + 1], CultureInfo.InvariantCulture) : 20_000;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(RedisConfiguration.Parse(configuration));
        var db = redis.GetDatabase();
        Console.WriteLine($"# Redis list consumption, raw — {RedisConfiguration.Describe(RedisConfiguration.Parse(configuration))}, {items:N0} items per measurement, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");

        // Warm-up: connection, scripts loaded, JIT.
        await MeasureAsync(db, 2000, 1, OneByOneAsync);
        await MeasureAsync(db, 2000, 1, BatchedAsync);
        Console.WriteLine("| pattern | consumers | items/s |");
        Console.WriteLine("|---|---|---|");
        foreach (var consumers in new[] { 1, 4 })
        {
            Console.WriteLine($"| LMOVE + LREM, one item per round trip | {consumers} | {await MeasureAsync(db, items, consumers, OneByOneAsync):N0} |");
        }

        foreach (var consumers in new[] { 1, 4 })
        {
            Console.WriteLine($"| take script (100 items) + ack script (LTRIM) | {consumers} | {await MeasureAsync(db, items, consumers, BatchedAsync):N0} |");
        }

        var triggerIndex = Array.IndexOf(args, "--redis-trigger");
        if (triggerIndex >= 0)
        {
            var triggerItems = int.Parse(args[triggerIndex + 1], CultureInfo.InvariantCulture);
            await RedisTriggerBench.RunAsync(db, configuration, 2000, perBatch: false);
            var perItem = await RedisTriggerBench.RunAsync(db, configuration, triggerItems, perBatch: false);
            Console.WriteLine($"| AddRedisListTrigger on SQLite, one no-op run per item (10 lists) | 1 node | {perItem.ItemsPerSecond:N0} ({perItem.Runs:N0} runs) |");
            var perBatch = await RedisTriggerBench.RunAsync(db, configuration, triggerItems, perBatch: true);
            Console.WriteLine($"| AddRedisListTrigger on SQLite, one no-op run per batch of up to 100 (10 lists) | 1 node | {perBatch.ItemsPerSecond:N0} ({perBatch.Runs:N0} runs) |");
        }

        Console.WriteLine($"| peak working set | | {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024):N0} MB |");
    }

    private static async Task<double> MeasureAsync(IDatabase db, int items, int consumers, Func<IDatabase, string, string, Task> consume)
    {
        var prefix = $"bench:redis-raw:{Guid.NewGuid():N}:";
        var lists = Enumerable.Range(0, consumers).Select(c => $"{prefix}list{c}").ToArray();
        var payload = new string('x', 400);
        try
        {
            foreach (var list in lists)
            {
                for (var start = 0; start < items / consumers; start += 1000)
                {
                    var count = Math.Min(1000, (items / consumers) - start);
                    await db.ListRightPushAsync(list, [.. Enumerable.Range(start, count).Select(i => (RedisValue)$"{{\"n\":{i},\"p\":\"{payload}\"}}")]);
                }
            }

            var watch = Stopwatch.StartNew();
            await Task.WhenAll(lists.Select(list => consume(db, list, list + ":processing")));
            var elapsed = watch.Elapsed;
            foreach (var list in lists)
            {
                if (await db.ListLengthAsync(list) != 0 || await db.ListLengthAsync(list + ":processing") != 0)
                {
                    throw new InvalidOperationException($"{list} was not consumed entirely");
                }
            }

            return items / consumers * consumers / elapsed.TotalSeconds;
        }
        finally
        {
            await db.KeyDeleteAsync([.. lists.SelectMany(l => new RedisKey[] { l, l + ":processing", l + ":lists" })]);
        }
    }

    private static async Task OneByOneAsync(IDatabase db, string source, string processing)
    {
        while (true)
        {
            var item = await db.ListMoveAsync(source, processing, ListSide.Left, ListSide.Right);
            if (item.IsNull)
            {
                return;
            }

            await db.ListRemoveAsync(processing, item, 1);
        }
    }

    private static async Task BatchedAsync(IDatabase db, string source, string processing)
    {
        while (true)
        {
            var taken = (RedisResult[])(await db.ScriptEvaluateAsync(RedisListScripts.Take, [source, processing, source + ":lists"], [100]))!;
            var count = ((RedisResult[])taken[1]!).Length;
            if (count == 0)
            {
                return;
            }

            await db.ScriptEvaluateAsync(RedisListScripts.Ack, [processing, source + ":failed"], [count]);
        }
    }
}
