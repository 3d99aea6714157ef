using System.Text.Json;
using Baton.Hosting;
using Baton.Runs;
using Baton.Storage;
using Baton.Storage.Sqlite;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Baton.Redis.Tests;

/// <summary>A real process consuming a list, SIGKILLed mid-consumption and started again.</summary>
public sealed class RedisCrashTests
{
    private static string Item(int i) => $$"""{"n":{{i}}}""";

    [Fact]
    public async Task Trigger_ProcessKilledMidConsumption_AfterRestartEveryItemIsExactlyOneRun()
    {
        const int count = 10000;
        var directory = TestPaths.NewTempDirectory();
        var database = Path.Combine(directory, "crash.db");
        var prefix = SharedRedis.NewPrefix();
        var list = prefix + "items";
        await using var redis = await RedisNode.ConnectAsync();
        var db = redis.GetDatabase();
        try
        {
            await db.ListRightPushAsync(list, [.. Enumerable.Range(0, count).Select(i => (RedisValue)Item(i))]);
            var dll = Path.Combine(TestPaths.OutputDirectory("tests", "Baton.Redis.CrashHost"), "Baton.Redis.CrashHost.dll");
            string[] arguments = ["--db", database, "--redis", SharedRedis.Configuration, "--list", list, "--prefix", prefix, "--node", "crash-node"];

            // The first process takes 1,000 items and then holds every batch until it is killed: unheld, a fast machine
            // drained the whole list between two polls of this loop (CI, stop 21).
            await using (var first = ChildProcess.Start(dll, [.. arguments, "--hold-after", "1000"], []))
            {
                // Cut consumption itself, not only execution: runs are stored (and items leave the list) much faster than
                // they execute, so waiting for succeeded runs could find the list already drained. Kill as soon as a few
                // batches have left the list.
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (await db.ListLengthAsync(list) > count - 500)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the first process did not start consuming within 60 s");
                    await Task.Delay(1);
                }

                first.Kill();
            }

            var left = await db.ListLengthAsync(list);
            Assert.True(left > 0, "the process was killed after the list was drained: the test did not cut consumption");

            await using (var second = ChildProcess.Start(dll, arguments, []))
            {
                await second.WaitForLineAsync(l => l == $"SUCCEEDED {count}", $"all {count} runs to succeed", TimeSpan.FromSeconds(90));
                second.Terminate();
                Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            }

            var runs = await ReadRunsAsync(database);
            Assert.Equal(count, runs.Count);
            Assert.All(runs, r => Assert.Equal(RunStatus.Succeeded, r.Status));
            Assert.Equal(
                Enumerable.Range(0, count).Select(Item).Order(),
                runs.Select(r => JsonSerializer.Deserialize<JsonElement>(r.Input!).GetRawText()).Order());
            Assert.Equal(0, await db.ListLengthAsync(list));
            Assert.Equal(0, await db.ListLengthAsync($"{prefix}processing:crash-node:{list}"));
        }
        finally
        {
            await db.KeyDeleteAsync([list, $"{prefix}processing:crash-node:{list}", $"{prefix}consumer:crash-node", $"{prefix}consumer:crash-node:lists", $"{prefix}consumers"]);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<IReadOnlyList<RunRecord>> ReadRunsAsync(string database)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddBaton().UseSqlite(o => o.Path = database);
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IBatonStore>();
        await store.InitializeAsync();
        return await RedisNode.AllRunsAsync(store);
    }
}
