using System.Collections.Concurrent;
using System.Diagnostics;
using Baton.Hosting;
using Baton.Runs;
using Baton.Storage.Postgres;
using Baton.Storage.Sqlite;
using Baton.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Bench;

internal sealed record ThroughputResult(int Runs, TimeSpan Elapsed, double StartP50, double StartP99, double OwnCpu, double PostgresCpu, long AllocatedBytes)
{
    /// <summary>Managed bytes allocated per run, by every thread of this process (the callers included).</summary>
    public double AllocatedPerRun => (double)AllocatedBytes / Runs;

    public double RunsPerSecond => Runs / Elapsed.TotalSeconds;

    /// <summary>CPU microseconds per run: this process, the PostgreSQL processes (NaN on SQLite).</summary>
    public (double Own, double Postgres) CpuPerRun => (OwnCpu * 1e6 / Runs, PostgresCpu * 1e6 / Runs);

    /// <summary>The PostgreSQL store's round trips, commits and rows of the phase (null on SQLite).</summary>
    public StoreTrafficResult? Traffic { get; init; }

    /// <summary>The SQLite writer's operations and commits during the phase (baton.sqlite.writer.*; zero on PostgreSQL).</summary>
    public (long Operations, long Commits) SqliteWriter { get; init; }

    /// <summary>Thread-pool work items completed during the phase (<see cref="ThreadPool.CompletedWorkItemCount"/>), the callers' included.</summary>
    public long WorkItems { get; init; }
}

internal sealed record LatencyResult(int Count, double P50, double P99);

/// <summary>
/// Starts runs through <see cref="IBatonClient"/> and counts them as their final state is stored.
/// Each run's input is the <see cref="Stopwatch"/> timestamp taken just before its start was requested,
/// so the workflow's first line measures trigger-to-start latency.
/// </summary>
internal static class EngineBench
{
    public static async Task<ThroughputResult> ThroughputAsync(BenchSettings settings, string label, int runs, int steps)
    {
        Console.WriteLine($"running {runs:N0} {label} runs ...");
        var latencies = new ConcurrentBag<double>();
        await using var node = await Node.StartAsync(settings, steps, latencies);
        var cpu = new CpuMeter(settings.Postgres is null ? null : new Npgsql.NpgsqlConnectionStringBuilder(settings.Postgres).Database);
        using var traffic = await StoreTraffic.StartAsync(settings.Postgres);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        using var writer = new SqliteWriterCounter();
        var workItems = ThreadPool.CompletedWorkItemCount;
        var watch = Stopwatch.StartNew();
        await StartAllAsync(node, "bench", runs);
        await node.WaitForAsync(runs);
        watch.Stop();
        var (own, postgres) = cpu.Elapsed();
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        workItems = ThreadPool.CompletedWorkItemCount - workItems;
        var sorted = latencies.Order().ToArray();
        return new ThroughputResult(runs, watch.Elapsed, Percentile(sorted, 0.5), Percentile(sorted, 0.99), own, postgres, allocated)
        {
            Traffic = traffic is null ? null : await traffic.StopAsync(),
            WorkItems = workItems,
            SqliteWriter = writer.Read(),
        };
    }

    public static async Task<LatencyResult> LatencyAsync(BenchSettings settings, int runs)
    {
        Console.WriteLine($"measuring trigger-to-start latency over {runs:N0} runs, one at a time ...");
        var latencies = new ConcurrentBag<double>();
        await using var node = await Node.StartAsync(settings, 1, latencies);
        for (var i = 0; i < runs; i++)
        {
            await node.Client.StartRunAsync(new StartRunRequest { Workflow = "bench", Input = System.Text.Json.JsonSerializer.SerializeToElement(Stopwatch.GetTimestamp()) });
            await node.WaitForAsync(i + 1);
        }

        var sorted = latencies.Order().ToArray();
        return new LatencyResult(sorted.Length, Percentile(sorted, 0.5), Percentile(sorted, 0.99));
    }

    /// <summary>
    /// Starts <paramref name="runs"/> runs of <paramref name="workflow"/> with 32 callers, spread over the nodes:
    /// each node creates runs and any node may execute them. The input is the <see cref="Stopwatch"/> timestamp.
    /// </summary>
    internal static Task StartAllAsync(Node node, string workflow, int runs)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, 32).Select(async caller =>
        {
            var client = node.ClientOf(caller);
            while (Interlocked.Increment(ref next) < runs)
            {
                var result = await client.StartRunAsync(new StartRunRequest { Workflow = workflow, Input = System.Text.Json.JsonSerializer.SerializeToElement(Stopwatch.GetTimestamp()) });
                if (result.Outcome != StartRunOutcome.Created)
                {
                    throw new InvalidOperationException($"start failed: {result.Outcome}");
                }
            }
        }));
    }

    internal static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    /// <summary>
    /// One Baton node, or several sharing one PostgreSQL schema (each with its own host, store, connection
    /// pool, worker and node id, as separate processes would have; they share this process's 2 cores).
    /// </summary>
    internal sealed class Node : IAsyncDisposable
    {
        private readonly List<IHost> _hosts;
        private readonly string _path;
        private readonly SemaphoreSlim _ended = new(0);
        private readonly BenchSettings _settings;
        private int _finished;
        private int _parentsFinished;

        private Node(List<IHost> hosts, string path, BenchSettings settings, ConcurrentDictionary<string, byte> parentsReturned)
        {
            _settings = settings;
            _hosts = hosts;
            _path = path;
            foreach (var host in hosts)
            {
                host.Services.GetRequiredService<Worker>().ExecutionEnded += runId =>
                {
                    Interlocked.Increment(ref _finished);
                    // A parent's body returned in this execution, so its final state is now stored. The other
                    // executions of a parent (those that suspend while a child runs) do not count.
                    if (parentsReturned.TryRemove(runId, out _))
                    {
                        Interlocked.Increment(ref _parentsFinished);
                    }

                    _ended.Release();
                };
            }
        }

        /// <summary>The first node's client.</summary>
        public IBatonClient Client => ClientOf(0);

        public int Count => _hosts.Count;

        public IBatonClient ClientOf(int node) => _hosts[node % _hosts.Count].Services.GetRequiredService<IBatonClient>();

        public Baton.Inbox.IBatonInbox InboxOf(int node) => _hosts[node % _hosts.Count].Services.GetRequiredService<Baton.Inbox.IBatonInbox>();

        public static async Task<Node> StartAsync(BenchSettings settings, int steps, ConcurrentBag<double> latencies)
        {
            if (settings.Nodes > 1 && settings.Postgres is null)
            {
                throw new ArgumentException("--nodes above 1 needs --postgres: SQLite is the store of one node");
            }

            // On Postgres the "path" is a fresh schema, dropped afterwards.
            var path = settings.Postgres is null
                ? Path.Combine(settings.Directory, $"baton-bench-{Guid.NewGuid():N}.db")
                : $"bench_{Guid.NewGuid():N}";
            var hosts = new List<IHost>();
            var parentsReturned = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
            for (var i = 0; i < settings.Nodes; i++)
            {
                var host = Build(settings, path, $"bench-node-{i + 1}", steps, latencies, parentsReturned);
                await host.StartAsync();
                hosts.Add(host);
            }

            return new Node(hosts, path, settings, parentsReturned);
        }

        private static IHost Build(BenchSettings settings, string path, string nodeId, int steps, ConcurrentBag<double> latencies, ConcurrentDictionary<string, byte> parentsReturned)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            var baton = builder.Services.AddBaton(o =>
            {
                o.NodeId = nodeId;
                o.MaxConcurrentRuns = 512;
                o.AttemptStartWriteDelay = settings.AttemptStartWriteDelay;
            });
            if (settings.Postgres is { } connectionString)
            {
                baton.UsePostgres(o =>
                {
                    o.ConnectionString = connectionString;
                    o.Schema = path;
                    // BENCH_PG_WRITERS=N compares writer connection counts with one build (default: the store's).
                    if (int.TryParse(Environment.GetEnvironmentVariable("BENCH_PG_WRITERS"), System.Globalization.CultureInfo.InvariantCulture, out var writers))
                    {
                        o.WriterConnections = writers;
                    }
                });
            }
            else
            {
                baton.UseSqlite(o =>
                {
                    o.Path = path;
                    o.Durability = settings.Durability;
                    o.CheckpointInterval = settings.CheckpointInterval;
                });
            }

            baton.AddWorkflow<long, int>("bench", async (ctx, triggeredAt, ct) =>
                {
                    latencies.Add(Stopwatch.GetElapsedTime(triggeredAt).TotalMilliseconds);
                    var sum = 0;
                    for (var i = 0; i < steps; i++)
                    {
                        var step = i;
                        sum += await ctx.StepAsync("s", _ => Task.FromResult(step), cancellationToken: ct);
                    }

                    return sum;
                })
                .AddWorkflow<int, int>(EventBench.Workflow, async (ctx, _, ct) =>
                {
                    // The payload is the Stopwatch timestamp taken just before the event was sent.
                    var sentAt = await ctx.WaitForEventAsync<long>(EventBench.EventName, cancellationToken: ct);
                    latencies.Add(Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds);
                    return 0;
                })
                .AddWorkflow<long, int>(ChildBench.ParentWorkflow, async (ctx, _, ct) =>
                {
                    // Ten children one after another; the parent suspends while each runs (unless it has already ended).
                    var sum = 0;
                    for (var i = 0; i < ChildBench.ChildrenPerParent; i++)
                    {
                        sum += await ctx.RunChildAsync<int, int>(ChildBench.ChildWorkflow, i, cancellationToken: ct);
                    }

                    parentsReturned[ctx.RunId] = 0;
                    return sum;
                })
                .AddWorkflow<int, int>(ChildBench.ChildWorkflow, (_, input, _) => Task.FromResult(input));
            return builder.Build();
        }

        /// <summary>Waits until <paramref name="finished"/> executions have ended (runs that do not suspend end in one).</summary>
        public Task WaitForAsync(int finished) => WaitForAsync(() => Volatile.Read(ref _finished), finished, "runs");

        /// <summary>Waits until <paramref name="finished"/> runs of <see cref="ChildBench.ParentWorkflow"/> have ended.</summary>
        public Task WaitForParentsAsync(int finished) => WaitForAsync(() => Volatile.Read(ref _parentsFinished), finished, "parent runs");

        private async Task WaitForAsync(Func<int> count, int finished, string what)
        {
            var watch = Stopwatch.StartNew();
            while (count() < finished)
            {
                if (watch.Elapsed > TimeSpan.FromMinutes(5))
                {
                    throw new TimeoutException($"only {count()} of {finished} {what} finished in 5 minutes");
                }

                await _ended.WaitAsync(TimeSpan.FromMilliseconds(100));
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var host in _hosts)
            {
                await host.StopAsync();
                host.Dispose();
            }

            if (_settings.Postgres is { } connectionString)
            {
                await using var connection = new Npgsql.NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                await using var drop = new Npgsql.NpgsqlCommand($"DROP SCHEMA \"{_path}\" CASCADE", connection);
                await drop.ExecuteNonQueryAsync();
                return;
            }

            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(_path + suffix);
            }
        }
    }
}

/// <summary>Counts the SQLite writer's operations and commits (its own meter's counters) from construction on.</summary>
internal sealed class SqliteWriterCounter : IDisposable
{
    private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
    private long _operations;
    private long _commits;

    public SqliteWriterCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is "baton.sqlite.writer.operations" or "baton.sqlite.writer.commits")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "baton.sqlite.writer.operations")
            {
                Interlocked.Add(ref _operations, value);
            }
            else
            {
                Interlocked.Add(ref _commits, value);
            }
        });
        _listener.Start();
    }

    public (long Operations, long Commits) Read() => (Interlocked.Read(ref _operations), Interlocked.Read(ref _commits));

    public void Dispose() => _listener.Dispose();
}
