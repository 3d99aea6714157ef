using System.Diagnostics;
using Baton.Hosting;
using Baton.Runs;
using Baton.Storage;
using Baton.Storage.Postgres;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Bench;

/// <summary>
/// <c>--fill-runs N (--sqlite PATH | --postgres CS --schema S)</c>: stores N runs through the store API in batches
/// (<see cref="IRunStore.CreateRunsAsync"/>, no workflow executes), for the dashboard benchmark
/// (bench/dashboard-runs.sh). Runs are one second apart in creation time, over three workflows, newest last.
/// </summary>
internal static class DashboardFill
{
    private const int BatchSize = 5_000;
    private static readonly string[] Workflows = ["demo", "catalog-sync", "bench"];

    public static async Task RunAsync(string[] args)
    {
        var count = int.Parse(Value(args, "--fill-runs") ?? "1000000", System.Globalization.CultureInfo.InvariantCulture);
        var services = new ServiceCollection();
        services.AddLogging();
        var baton = services.AddBaton(o => o.RunWorker = false);
        if (Value(args, "--postgres") is { } connectionString)
        {
            baton.UsePostgres(o =>
            {
                o.ConnectionString = connectionString;
                o.Schema = Value(args, "--schema") ?? "public";
            });
        }
        else
        {
            baton.UseSqlite(o => o.Path = Value(args, "--sqlite") ?? throw new ArgumentException("--fill-runs needs --sqlite PATH or --postgres CS"));
        }

        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IBatonStore>();
        await store.InitializeAsync();
        var ids = new RunIds();
        var start = DateTimeOffset.UtcNow.AddSeconds(-count);
        var watch = Stopwatch.StartNew();
        for (var first = 0; first < count; first += BatchSize)
        {
            var batch = new List<CreateRunRequest>(BatchSize);
            for (var i = first; i < Math.Min(count, first + BatchSize); i++)
            {
                var now = start.AddSeconds(i);
                batch.Add(new CreateRunRequest { Id = ids.New(now), Workflow = Workflows[i % Workflows.Length], Input = """{"items":20}""", Now = now });
            }

            await store.Runs.CreateRunsAsync(new CreateRunsRequest(batch));
            if ((first / BatchSize) % 20 == 0)
            {
                Console.WriteLine($"{first + batch.Count:N0} runs stored ({watch.Elapsed.TotalSeconds:N0} s)");
            }
        }

        Console.WriteLine($"stored {count:N0} runs in {watch.Elapsed.TotalSeconds:N1} s");
    }

    private static string? Value(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}
