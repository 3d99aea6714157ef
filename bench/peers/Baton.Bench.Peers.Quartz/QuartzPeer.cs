using Quartz;

namespace Baton.Bench.Peers;

/// <summary>The no-op job: it records its trigger-to-start latency and counts.</summary>
internal sealed class NoopJob : IJob
{
    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        Probe.Record(long.Parse(context.MergedJobDataMap.GetString(QuartzPeer.EnqueuedAt)!, System.Globalization.CultureInfo.InvariantCulture));
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Quartz.NET set up for throughput as its documentation recommends: one durable job and a one-off trigger per
/// firing (its fire-and-forget shape), the default thread pool, and batch trigger acquisition left to its automatic
/// size (the pool's size on a database store, which Quartz 4.3 made the default after measuring it); clustered on
/// PostgreSQL; the schema created by the store itself (ProvisionSchema).
/// </summary>
internal sealed class QuartzPeer : IPeer
{
    public const string EnqueuedAt = "enqueuedAt";
    private static readonly JobKey Job = new("noop");
    private readonly QuartzSchedulerBuilder _builder;
    private readonly string? _path;
    private readonly string _connectionString;
    private IScheduler? _scheduler;
    private long _enqueued;

    public QuartzPeer(PeerSettings settings)
    {
        var threads = settings.Workers ?? new ThreadPoolOptions().MaxConcurrency;
        _path = settings.Postgres is null ? Path.Combine(settings.Directory, $"quartz-{Guid.NewGuid():N}.db") : null;
        _connectionString = settings.Postgres ?? $"Data Source={_path}";
        _builder = QuartzSchedulerBuilder.Create(q =>
        {
            q.ConfigureScheduler(o =>
            {
                o.InstanceName = "peers";
                o.InstanceId = "peers-node-1";
            });
            q.UseDefaultThreadPool(threads);
            q.UsePersistentStore(store =>
            {
                if (settings.Postgres is { } connectionString)
                {
                    store.UsePostgres(connectionString);
                    store.UseClustering(_ => { });
                }
                else
                {
                    store.UseSqlite(_connectionString);
                }

                store.ProvisionSchema();
            });
        });
        var defaults = new QuartzSchedulerOptions();
        Settings = $"Quartz 4.7.3 ADO job store ({(settings.Postgres is null ? "SQLite via Microsoft.Data.Sqlite, not clustered" : "PostgreSQL via Npgsql, clustered")}), "
            + $"thread pool MaxConcurrency {threads}, MaxBatchSize {defaults.MaxBatchSize} (automatic: the pool's size), "
            + $"BatchTriggerAcquisitionFireAheadTimeWindow {defaults.BatchTriggerAcquisitionFireAheadTimeWindow.TotalMilliseconds:N0} ms, "
            + "one durable job + one one-off trigger per firing, job data serialized with System.Text.Json";
    }

    public string Settings { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _scheduler = await _builder.BuildScheduler(cancellationToken);
        await _scheduler.AddJob(JobBuilder.Create<NoopJob>().WithIdentity(Job).StoreDurably().Build(), AddJobOptions.Replacing, cancellationToken);
        await _scheduler.Start(cancellationToken);
    }

    public async Task EnqueueAsync(long enqueuedAt, CancellationToken cancellationToken)
    {
        var trigger = TriggerBuilder.Create()
            .ForJob(Job)
            .UsingJobData(EnqueuedAt, enqueuedAt.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .StartNow()
            .Build();
        await _scheduler!.ScheduleJob(trigger, new ScheduleJobOptions(), cancellationToken);
        Interlocked.Increment(ref _enqueued);
    }

    /// <summary>
    /// A one-off trigger's row leaves the store when its firing completes: finished = enqueued - rows still stored,
    /// read from the table itself (the scheduler's API lists keys, which costs more than counting them).
    /// </summary>
    public async Task<long> FinishedInStoreAsync(CancellationToken cancellationToken)
    {
        var enqueued = Interlocked.Read(ref _enqueued);
        await using var connection = _path is null
            ? (System.Data.Common.DbConnection)new Npgsql.NpgsqlConnection(_connectionString)
            : new Microsoft.Data.Sqlite.SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM qrtz_triggers";
        var stored = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        return enqueued - stored;
    }

    public async ValueTask DisposeAsync()
    {
        if (_scheduler is not null)
        {
            await _scheduler.Shutdown(true);
        }

        if (_path is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" })
            {
                File.Delete(_path + suffix);
            }
        }
    }
}
