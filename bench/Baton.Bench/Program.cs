// Engine benchmark on the SQLite store (or, with --postgres CONNECTION_STRING, on PostgreSQL): throughput of
// single-step and 10-step runs, and trigger-to-start latency.
// Usage: Baton.Bench [--durability ProcessCrashSafe|FullSync] [--postgres CS] [--single N] [--multi N] [--latency N]
//                    [--attempt-start-delay-ms 100] [--nodes N (PostgreSQL only)] [--alloc-types N (top N types allocated)]
//                    [--checkpoint-ms 100 (SQLite CheckpointInterval; 0 leaves checkpoints to SQLite on the writer)]
//                    [--events N (send-to-resume latency of N waiting runs, one at a time; default 0: skipped)]
//                    [--event-burst N (N waiting runs, then N events sent at once; default 0: skipped)]
//                    [--inbox N (N messages accepted through the inbox per batch size; default 0: skipped)]
//                    [--inbox-batch 1,10,100 (the batch sizes of --inbox)]
//                    [--children N (N parent runs of 10 child runs each, one after another, against N 10-step runs;
//                     default 0: skipped)]
//        Baton.Bench --fill-runs N (--sqlite PATH | --postgres CS --schema S): only stores N runs (DashboardFill).
//                    [--rabbit-rpc N (only the bare RabbitMQ request/reply benchmark, N calls; see RabbitRpcBench.cs)]
//        Baton.Bench --doctor [--doctor-requests 2000] [--doctor-concurrency 64]: seed 004 through the real RabbitMQ and
//                    Redis (DoctorBench.cs); the engine benchmark is not run then.
//        Baton.Bench --redis-raw [REDIS] [--redis-items 20000]: only the raw Redis list consumption figures (RedisRawBench).
//        Baton.Bench --cron [N]: only the CPU and allocations of CronSchedule.Next (CronBench.cs).
//        Baton.Bench --prune [RUNS] [--prune-items N]: only SQLite retention against lease renewals (PruneBench.cs).
// Besides runs/s it prints CPU per run (this process, and on PostgreSQL the server processes of the
// database), which stays comparable when other work shares the machine.
// On PostgreSQL, BENCH_PG_WRITERS=N sets PostgresStoreOptions.WriterConnections (default: the store's own, 1).
using System.Diagnostics;
using Baton.Bench;
using Baton.Storage.Sqlite;

if (args.Contains("--fill-runs"))
{
    await Baton.Bench.DashboardFill.RunAsync(args);
    return;
}

if (args.Contains("--doctor"))
{
    Environment.Exit(await DoctorBench.RunAsync(args));
}

if (RabbitRpcBench.Requested(args, out var rabbitRpc))
{
    await RabbitRpcBench.RunAsync(rabbitRpc);
    return;
}

if (args.Contains("--cron"))
{
    CronBench.Run(args);
    return;
}

if (args.Contains("--prune"))
{
    await PruneBench.RunAsync(args);
    return;
}

if (args.Contains("--redis-raw"))
{
    await RedisRawBench.RunAsync(args);
    return;
}

var settings = BenchSettings.Parse(args);
Console.WriteLine($"# Baton engine benchmark — {(settings.Postgres is null ? $"SQLite ({settings.Durability}, checkpoint interval {settings.CheckpointInterval.TotalMilliseconds:N0} ms)" : $"PostgreSQL, {settings.Nodes} node(s)")}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");

// Warm-up: JIT, connection pools and SQLite page cache, so the measured runs see a steady state.
await EngineBench.ThroughputAsync(settings, "warm-up", 2000, steps: 1);
using var sampler = settings.AllocTypes > 0 ? new AllocationSampler() : null;
sampler?.Reset();
var single = await EngineBench.ThroughputAsync(settings, "single-step", settings.SingleRuns, steps: 1);
var sampled = sampler?.Top(settings.AllocTypes).ToList();
var multi = await EngineBench.ThroughputAsync(settings, "10-step", settings.MultiRuns, steps: 10);
var idle = await EngineBench.LatencyAsync(settings, settings.LatencyRuns);
var events = settings.EventRuns > 0 ? await EventBench.OneAtATimeAsync(settings, settings.EventRuns) : null;
var burst = settings.EventBurst > 0 ? await EventBench.BurstAsync(settings, settings.EventBurst) : null;
var inbox = new List<InboxBenchResult>();
foreach (var batchSize in settings.InboxRuns > 0 ? settings.InboxBatches : [])
{
    inbox.Add(await InboxBench.AcceptAsync(settings, settings.InboxRuns, batchSize));
}

var children = settings.ChildRuns > 0 ? await ChildBench.RunAsync(settings, settings.ChildRuns) : null;

Console.WriteLine();
Console.WriteLine("| measurement | value |");
Console.WriteLine("|---|---|");
Console.WriteLine($"| {single.Runs:N0} single-step runs | {single.RunsPerSecond:N0} runs/s ({single.Elapsed.TotalSeconds:N2} s; start-to-start p50 under load {single.StartP50:N1} ms, p99 {single.StartP99:N1} ms) |");
Console.WriteLine($"| CPU per single-step run | {Cpu(single)} |");
if (single.Traffic is { } traffic && single.Runs > 0)
{
    Console.WriteLine($"| store traffic per single-step run | {traffic.PerRun(single.Runs)} |");
}

Console.WriteLine($"| managed allocation per single-step run | {(single.Runs == 0 ? "not measured" : $"{single.AllocatedPerRun / 1024:N1} KB")} |");
if (single.SqliteWriter.Operations > 0)
{
    Console.WriteLine($"| SQLite writer operations / commits per single-step run | {(double)single.SqliteWriter.Operations / single.Runs:N2} / {(double)single.SqliteWriter.Commits / single.Runs:N3} |");
}

Console.WriteLine($"| thread-pool work items per single-step run | {(single.Runs == 0 ? "not measured" : $"{(double)single.WorkItems / single.Runs:N2}")} |");
Console.WriteLine($"| {multi.Runs:N0} 10-step runs | {multi.RunsPerSecond:N0} runs/s = {multi.RunsPerSecond * 10:N0} steps/s ({multi.Elapsed.TotalSeconds:N2} s) |");
Console.WriteLine($"| CPU per 10-step run | {Cpu(multi)} |");
Console.WriteLine($"| trigger-to-start latency, one run at a time ({idle.Count} runs) | p50 {idle.P50:N2} ms, p99 {idle.P99:N2} ms |");
if (events is not null)
{
    Console.WriteLine($"| event send-to-resume latency, one waiting run at a time ({events.Count} runs) | p50 {events.P50:N2} ms, p99 {events.P99:N2} ms |");
}

if (burst is not null)
{
    Console.WriteLine($"| burst of {burst.Events:N0} events to {burst.Events:N0} waiting runs | {burst.SentPerSecond:N0} events/s stored, {burst.ResumedPerSecond:N0} runs/s resumed to the end; send-to-resume p50 {burst.P50:N1} ms, p99 {burst.P99:N1} ms |");
}

foreach (var accepted in inbox)
{
    Console.WriteLine($"| {accepted.Messages:N0} inbox messages in batches of {accepted.BatchSize:N0} | {accepted.MessagesPerSecond:N0} messages/s accepted ({accepted.Elapsed.TotalSeconds:N2} s) |");
}

if (children is not null)
{
    Console.WriteLine($"| {children.Parents.Runs:N0} parent runs of {ChildBench.ChildrenPerParent} child runs each | {children.Parents.RunsPerSecond:N0} parents/s = {children.Parents.RunsPerSecond * ChildBench.ChildrenPerParent:N0} child runs/s ({children.Parents.Elapsed.TotalSeconds:N2} s) |");
    Console.WriteLine($"| CPU per parent (its {ChildBench.ChildrenPerParent} children included) | {Cpu(children.Parents)} |");
    Console.WriteLine($"| {children.TenSteps.Runs:N0} 10-step runs, against the parents | {children.TenSteps.RunsPerSecond:N0} runs/s ({children.TenSteps.Elapsed.TotalSeconds:N2} s) |");
    Console.WriteLine($"| CPU per 10-step run, against the parents | {Cpu(children.TenSteps)} |");
    Console.WriteLine($"| parent of {ChildBench.ChildrenPerParent} children / 10-step run | {children.CpuRatio:N1}× the CPU, {children.RateRatio:N1}× fewer per second |");
}

foreach (var (type, share) in sampled ?? [])
{
    Console.WriteLine($"| sampled allocations of single-step runs: {type} | {share:P1} |");
}

Console.WriteLine($"| peak working set | {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024):N0} MB |");

static string Cpu(ThroughputResult result) =>
    result.Runs == 0 ? "not measured (0 runs)"
    : double.IsNaN(result.CpuPerRun.Postgres)
        ? $"{result.CpuPerRun.Own:N0} µs"
        : $"{result.CpuPerRun.Own + result.CpuPerRun.Postgres:N0} µs ({result.CpuPerRun.Own:N0} µs .NET, {result.CpuPerRun.Postgres:N0} µs PostgreSQL)";

namespace Baton.Bench
{
    internal sealed record BenchSettings(SqliteDurability Durability, int SingleRuns, int MultiRuns, int LatencyRuns, string Directory, string? Postgres, TimeSpan AttemptStartWriteDelay, int Nodes, int AllocTypes, TimeSpan CheckpointInterval, int EventRuns, int EventBurst, int InboxRuns, IReadOnlyList<int> InboxBatches, int ChildRuns)
    {
        public static BenchSettings Parse(string[] args)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                values[args[i].TrimStart('-')] = args[i + 1];
            }

            return new BenchSettings(
                Enum.Parse<SqliteDurability>(values.GetValueOrDefault("durability", nameof(SqliteDurability.ProcessCrashSafe))),
                int.Parse(values.GetValueOrDefault("single", "10000"), System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(values.GetValueOrDefault("multi", "2000"), System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(values.GetValueOrDefault("latency", "1000"), System.Globalization.CultureInfo.InvariantCulture),
                values.GetValueOrDefault("dir", Path.GetTempPath()),
                values.GetValueOrDefault("postgres"),
                TimeSpan.FromMilliseconds(double.Parse(values.GetValueOrDefault("attempt-start-delay-ms", "100"), System.Globalization.CultureInfo.InvariantCulture)),
                int.Parse(values.GetValueOrDefault("nodes", "1"), System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(values.GetValueOrDefault("alloc-types", "0"), System.Globalization.CultureInfo.InvariantCulture),
                TimeSpan.FromMilliseconds(double.Parse(values.GetValueOrDefault("checkpoint-ms", "100"), System.Globalization.CultureInfo.InvariantCulture)),
                int.Parse(values.GetValueOrDefault("events", "0"), System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(values.GetValueOrDefault("event-burst", "0"), System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(values.GetValueOrDefault("inbox", "0"), System.Globalization.CultureInfo.InvariantCulture),
                values.GetValueOrDefault("inbox-batch", "1,10,100").Split(',').Select(b => int.Parse(b, System.Globalization.CultureInfo.InvariantCulture)).ToList(),
                int.Parse(values.GetValueOrDefault("children", "0"), System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
