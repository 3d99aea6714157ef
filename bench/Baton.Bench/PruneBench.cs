using System.Diagnostics;
using System.Globalization;
using Baton.Hosting;
using Baton.Runs;
using Baton.Storage;
using Baton.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Bench;

/// <summary>
/// <c>--prune [RUNS] [--prune-items N]</c>: retention on the SQLite store's single writer. A file holds RUNS finished runs
/// (default 500, the pruner's batch) of N steps and N attempts each (default 2,000, a fan-out run) and one running run;
/// one prune batch deletes the finished runs while a lease renewal of the running run is sent every 100 ms, as a node's
/// heartbeat would. Prints the batch's wall time and how long the renewals waited for the writer (the longest matters:
/// a 30 s lease renewed every 10 s has 20 s of slack). Wall time, so run it on a quiet machine.
/// </summary>
internal static class PruneBench
{
    public static async Task RunAsync(string[] args)
    {
        var runs = IntAfter(args, "--prune", 500);
        var items = IntAfter(args, "--prune-items", 2_000);
        var path = Path.Combine(Path.GetTempPath(), $"baton-prune-bench-{Guid.NewGuid():N}.db");
        var created = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var now = created.AddDays(40);
        try
        {
            await using (var schema = Open(path))
            {
                await schema.GetRequiredService<IBatonStore>().InitializeAsync();
            }

            Fill(path, runs, items, created);
            await using var provider = Open(path);
            var store = provider.GetRequiredService<IBatonStore>();
            await store.InitializeAsync();
            var live = (await store.Runs.CreateRunAsync(new CreateRunRequest
            {
                Id = new RunIds().New(now), Workflow = "wf", Now = now, LeaseOwner = "node-a", LeaseExpiresAt = now.AddSeconds(30),
            })).Run;
            var cutoff = created.AddDays(30);
            var request = new PruneRunsRequest { IdsBelow = RunIds.LowestAt(cutoff), CompletedBefore = cutoff, MaxRuns = runs };

            var waits = new List<double>();
            var watch = Stopwatch.StartNew();
            var prune = store.Runs.PruneRunsAsync(request);
            while (!prune.IsCompleted)
            {
                var renewal = Stopwatch.StartNew();
                var renewed = await store.Runs.RenewLeasesAsync(new RenewLeasesRequest
                {
                    Owner = "node-a", RunIds = [live.Id], Now = now, LeaseExpiresAt = now.AddSeconds(30),
                });
                waits.Add(renewal.Elapsed.TotalMilliseconds);
                if (renewed.Lost.Count > 0)
                {
                    throw new InvalidOperationException("the running run's lease was lost");
                }

                await Task.WhenAny(prune, Task.Delay(100));
            }

            var deleted = await prune;
            var elapsed = watch.Elapsed;
            waits.Sort();
            Console.WriteLine($"# SQLite retention — {runs:N0} finished runs of {items:N0} steps and attempts each, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            Console.WriteLine("| measurement | value |");
            Console.WriteLine("|---|---|");
            Console.WriteLine($"| runs deleted by one batch | {deleted:N0} ({2L * runs * items:N0} step and attempt rows) |");
            Console.WriteLine($"| batch wall time | {elapsed.TotalSeconds:N1} s |");
            Console.WriteLine($"| lease renewals sent meanwhile (every 100 ms) | {waits.Count:N0} |");
            Console.WriteLine($"| renewal wait, median / longest | {Percentile(waits, 0.5):N0} ms / {(waits.Count == 0 ? 0 : waits[^1]):N0} ms |");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    private static ServiceProvider Open(string path)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddBaton(o => o.RunWorker = false).UseSqlite(o => o.Path = path);
        return services.BuildServiceProvider();
    }

    /// <summary>Writes the finished runs, their steps and attempts straight into the file (the store has no bulk path for them).</summary>
    private static void Fill(string path, int runs, int items, DateTimeOffset created)
    {
        var at = created.ToUnixTimeMilliseconds();
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using var transaction = connection.BeginTransaction();
        foreach (var sql in new[]
                 {
                     $"""
                     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {runs})
                     INSERT INTO runs (id, workflow, status, created_at, updated_at, run_after, completed_at, executions)
                     SELECT printf('%012x', {at}) || printf('%020x', i), 'wf', {(int)RunStatus.Succeeded}, {at}, {at}, {at}, {at}, 1 FROM n
                     """,
                     $"""
                     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {items})
                     INSERT INTO steps (run_id, key, kind, status, result, attempts, started_at, completed_at)
                     SELECT r.id, 'items/' || n.i, 0, 1, '[1,2,3]', 1, {at}, {at} FROM runs r, n
                     """,
                     "INSERT INTO step_attempts (run_id, step_key, attempt, started_at, ended_at, outcome) SELECT run_id, key, 1, started_at, completed_at, 1 FROM steps",
                 })
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[(int)Math.Min(sorted.Count - 1, p * sorted.Count)];

    private static int IntAfter(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }
}
