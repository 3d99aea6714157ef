using System.Diagnostics;
using System.Globalization;
using Baton.Bench;

namespace Baton.Bench.Peers;

/// <summary>One peer (Hangfire or Quartz.NET) set up on one store, as the benchmark drives it.</summary>
internal interface IPeer : IAsyncDisposable
{
    /// <summary>The settings that matter for throughput, printed under the table.</summary>
    string Settings { get; }

    /// <summary>Starts the peer's workers (its server or scheduler) in this process.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stores one job whose argument is <paramref name="enqueuedAt"/>, a <see cref="Stopwatch"/> timestamp.</summary>
    Task EnqueueAsync(long enqueuedAt, CancellationToken cancellationToken);

    /// <summary>How many jobs the store holds as finished (or as no longer pending), read from the store.</summary>
    Task<long> FinishedInStoreAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The job body every peer runs: it records trigger-to-start latency (from the <see cref="Stopwatch"/>
/// timestamp taken just before the job was enqueued) and counts. Nothing else, like Baton.Bench's workflow.
/// </summary>
internal static class Probe
{
    private static double[] _latencies = new double[1];
    private static int _started;
    private static SemaphoreSlim _signal = new(0);

    public static int Started => Volatile.Read(ref _started);

    public static void Reset(int capacity)
    {
        _latencies = new double[capacity];
        Volatile.Write(ref _started, 0);
        _signal = new SemaphoreSlim(0);
    }

    /// <summary>Waits until one more job body has started.</summary>
    public static Task WaitStartedAsync(CancellationToken cancellationToken) => _signal.WaitAsync(cancellationToken);

    public static void Record(long enqueuedAt)
    {
        var latency = Stopwatch.GetElapsedTime(enqueuedAt).TotalMilliseconds;
        var index = Interlocked.Increment(ref _started) - 1;
        var latencies = _latencies;
        if (index < latencies.Length)
        {
            latencies[index] = latency;
        }

        _signal.Release();
    }

    /// <summary>The recorded latencies, sorted (milliseconds).</summary>
    public static double[] Sorted() => _latencies.AsSpan(0, Math.Min(Started, _latencies.Length)).ToArray().Order().ToArray();
}

/// <summary>
/// Drives one peer the way Baton.Bench drives Baton (bench/Baton.Bench/EngineBench.cs): a warm-up, then a fixed
/// number of jobs enqueued by 32 concurrent callers while the workers run, counted when the store says they are
/// finished; then jobs one at a time for trigger-to-start latency. Prints one RESULT line that bench/peers/run.sh
/// turns into the table.
/// Usage: PEER --store sqlite|postgres [--postgres CS] [--dir DIR] [--jobs 2000] [--warmup 200] [--latency 200]
///             [--cap-seconds 120] [--workers N]
/// </summary>
internal static class PeerBench
{
    private const int Callers = 32;

    public static async Task<int> MainAsync(string name, string[] args, Func<PeerSettings, IPeer> create)
    {
        var settings = PeerSettings.Parse(args);
        // 32 callers that may block (a synchronous client) plus the peer's own work, without waiting for the pool to grow.
        ThreadPool.GetMinThreads(out var workerThreads, out var ioThreads);
        ThreadPool.SetMinThreads(Math.Max(workerThreads, Callers + 16), ioThreads);
        await using var peer = create(settings);
        // The whole process stops by itself: each phase has its own cap, and this bounds them all.
        using var cap = new CancellationTokenSource(settings.Cap * 3 + TimeSpan.FromMinutes(1));
        await peer.StartAsync(cap.Token);

        // Warm-up: JIT, connection pools, the store's first pages; not measured.
        await ThroughputAsync(peer, settings.Warmup, settings.Cap, cap.Token);

        var meter = new CpuMeter(settings.Postgres is null ? null : new Npgsql.NpgsqlConnectionStringBuilder(settings.Postgres).Database);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var (finished, elapsed, capped) = await ThroughputAsync(peer, settings.Jobs, settings.Cap, cap.Token);
        var (ownCpu, postgresCpu) = meter.Elapsed();
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        var load = Probe.Sorted();

        var idle = await OneAtATimeAsync(peer, settings.LatencyJobs, cap.Token);
        var fields = new[]
        {
            $"peer={name}", $"store={settings.Store}", $"jobs={finished}", $"seconds={elapsed.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)}",
            $"capped={(capped ? "yes" : "no")}", $"p50={Format(Percentile(load, 0.5))}", $"p99={Format(Percentile(load, 0.99))}",
            $"idle_p50={Format(Percentile(idle, 0.5))}", $"idle_p99={Format(Percentile(idle, 0.99))}",
            $"cpu_own_us={Format(ownCpu * 1e6 / Math.Max(1, finished))}", $"cpu_pg_us={Format(postgresCpu * 1e6 / Math.Max(1, finished))}",
            $"alloc_kb={Format(allocated / 1024.0 / Math.Max(1, finished))}",
        };
        Console.WriteLine("RESULT " + string.Join(' ', fields));
        Console.WriteLine("SETTINGS " + name + " " + settings.Store + ": " + peer.Settings);
        return 0;
    }

    /// <summary>
    /// Enqueues <paramref name="jobs"/> jobs with 32 callers while the workers run and waits until the store holds
    /// them all as finished. At the cap it stops enqueuing and reports what finished by then.
    /// </summary>
    private static async Task<(long Finished, TimeSpan Elapsed, bool Capped)> ThroughputAsync(IPeer peer, int jobs, TimeSpan cap, CancellationToken cancellationToken)
    {
        Probe.Reset(jobs);
        var before = await peer.FinishedInStoreAsync(cancellationToken);
        var watch = Stopwatch.StartNew();
        var next = -1;
        // Task.Run: a peer whose client is synchronous (Hangfire's) blocks its caller's thread, as it would a request's.
        var enqueue = Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < jobs && watch.Elapsed < cap)
            {
                await peer.EnqueueAsync(Stopwatch.GetTimestamp(), cancellationToken);
            }
        }, cancellationToken)));
        long finished = 0;
        while (watch.Elapsed < cap)
        {
            if (enqueue.IsFaulted)
            {
                await enqueue;
            }

            // The body count is free to read; the store is asked only once the bodies have all run, so the
            // benchmark's own queries do not load the database while the jobs do.
            if (Probe.Started >= jobs)
            {
                finished = await peer.FinishedInStoreAsync(cancellationToken) - before;
                if (finished >= jobs)
                {
                    break;
                }
            }

            await Task.Delay(20, cancellationToken);
        }

        var elapsed = watch.Elapsed;
        var capped = finished < jobs;
        if (capped)
        {
            finished = await peer.FinishedInStoreAsync(CancellationToken.None) - before;
        }

        await enqueue.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        return (finished, elapsed, capped);
    }

    /// <summary>
    /// Enqueues one job at a time and waits until the store holds it as finished before the next, as Baton.Bench's
    /// latency run waits for each run's end: idle trigger-to-start latency.
    /// </summary>
    private static async Task<double[]> OneAtATimeAsync(IPeer peer, int jobs, CancellationToken cancellationToken)
    {
        Probe.Reset(jobs);
        var before = await peer.FinishedInStoreAsync(cancellationToken);
        for (var i = 0; i < jobs; i++)
        {
            await peer.EnqueueAsync(Stopwatch.GetTimestamp(), cancellationToken);
            await Probe.WaitStartedAsync(cancellationToken);
            while (await peer.FinishedInStoreAsync(cancellationToken) - before <= i)
            {
                await Task.Delay(1, cancellationToken);
            }
        }

        return Probe.Sorted();
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static string Format(double value) => double.IsNaN(value) ? "nan" : value.ToString("F2", CultureInfo.InvariantCulture);
}

/// <summary>The command line of a peer process.</summary>
internal sealed record PeerSettings(string Store, string? Postgres, string Directory, int Jobs, int Warmup, int LatencyJobs, TimeSpan Cap, int? Workers)
{
    public static PeerSettings Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        var store = values.GetValueOrDefault("store", "sqlite");
        if (store is not ("sqlite" or "postgres"))
        {
            throw new ArgumentException($"--store must be sqlite or postgres, not '{store}'");
        }

        var postgres = values.GetValueOrDefault("postgres");
        if (store == "postgres" && postgres is null)
        {
            throw new ArgumentException("--store postgres needs --postgres CONNECTION_STRING (a fresh database)");
        }

        return new PeerSettings(
            store,
            store == "postgres" ? postgres : null,
            values.GetValueOrDefault("dir", Path.GetTempPath()),
            Int(values, "jobs", 2000),
            Int(values, "warmup", 200),
            Int(values, "latency", 200),
            TimeSpan.FromSeconds(Int(values, "cap-seconds", 120)),
            values.TryGetValue("workers", out var workers) ? int.Parse(workers, CultureInfo.InvariantCulture) : null);
    }

    private static int Int(Dictionary<string, string> values, string key, int fallback) =>
        values.TryGetValue(key, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
