using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// The store for several nodes: every rule that must hold across nodes (leases, idempotency, concurrency
/// limits, one run per schedule fire) is enforced by PostgreSQL, never by this process. Connections come
/// from one pooled <see cref="NpgsqlDataSource"/>. The schema is migrated on <see cref="InitializeAsync"/>
/// or, failing that, before the first operation. Closing flushes the queued writes, so the store is only disposed
/// asynchronously (a host does so; a hand-built service provider must be disposed with <c>DisposeAsync</c>).
/// </summary>
internal sealed class PostgresBatonStore : IBatonStore, IRunNotifications, ILeaseRecovery, IStoreErrors, IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _host;
    private readonly int _port;
    private readonly string? _database;
    private readonly string? _password;
    private readonly Lock _initLock = new();
    private readonly PostgresNodeIdentity _identity;

    /// <summary>This process's hold on its node id (checked by the lease renewal and the node heartbeat).</summary>
    internal PostgresNodeIdentity Identity => _identity;
    private Task? _initialized;

    public PostgresBatonStore(PostgresStoreOptions options, TimeProvider time, ILogger logger, System.Diagnostics.Metrics.IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        PostgresStoreOptionsValidator.ThrowIfInvalid(options);
        _logger = logger;
        _time = time;
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString)
        {
            CommandTimeout = (int)Math.Ceiling(options.CommandTimeout.TotalSeconds),
            MaxPoolSize = PoolSizeOf(options.ConnectionString),
        };

        if (builder.MaxAutoPrepare == 0)
        {
            // Hot statements are parsed and planned once per connection instead of on every call.
            builder.MaxAutoPrepare = 64;
        }

        MaxPoolSize = builder.MaxPoolSize;
        _host = builder.Host ?? "localhost";
        _port = builder.Port;
        _database = builder.Database;
        _password = builder.Password;
        var dataSource = new NpgsqlDataSourceBuilder(builder.ConnectionString);
        // Npgsql's spans only for commands inside a traced operation (a request, a run's step). The node's own polling,
        // claims, lease renewals, heartbeats and connection opens belong to no run: traced, one idle node exported about
        // 100 lone "postgresql" traces every 30 s, crowding out the runs' traces.
        dataSource.ConfigureTracing(tracing => tracing
            .ConfigureCommandFilter(static _ => System.Diagnostics.Activity.Current is not null)
            .ConfigureBatchFilter(static _ => System.Diagnostics.Activity.Current is not null)
            .EnablePhysicalOpenTracing(false));
        _dataSource = dataSource.Build();
        Schema = options.Schema;
        Channel = options.Schema + "_runs";
        Metrics = new PostgresMetrics(meterFactory);
        Writer = new PostgresWriter(this, MaxBatchSize, options.WriterConnections, logger, Metrics);
        var s = PostgresMigrations.Quote(options.Schema);
        Runs = new PostgresRunStore(this, s);
        Creates = new PostgresCreateBatcher(this, (PostgresRunStore)Runs, logger);
        Steps = new PostgresStepStore(this, s);
        Schedules = new PostgresScheduleStore(this, s, (PostgresRunStore)Runs);
        _identity = new PostgresNodeIdentity(this, s, logger);
        Nodes = new PostgresNodeStore(this, s, _identity, new PostgresClockCheck(_logger));
        Events = new PostgresEventStore(this, s);
    }

    /// <summary>
    /// The pool size when the connection string sets none. Npgsql's own default (100) would let three nodes
    /// exhaust PostgreSQL's default <c>max_connections</c> (100); hot writes share one connection anyway.
    /// </summary>
    public const int DefaultMaxPoolSize = 20;

    /// <summary>The most writes one lane of the <see cref="Writer"/> commits together.</summary>
    public const int MaxBatchSize = 256;

    public string Schema { get; }

    /// <summary>The connection pool's size: the connection string's, or <see cref="DefaultMaxPoolSize"/>.</summary>
    public int MaxPoolSize { get; }

    /// <summary>Group commit for the worker's hot writes.</summary>
    public PostgresWriter Writer { get; }

    /// <summary>Group commit for creates with a concurrency key (they may wait on its advisory lock, so not in <see cref="Writer"/>).</summary>
    public PostgresCreateBatcher Creates { get; }

    internal PostgresMetrics Metrics { get; }

    /// <summary>The NOTIFY channel on which runnable runs are announced: <c>{schema}_runs</c>.</summary>
    public string Channel { get; }

    public IRunStore Runs { get; }

    public IStepStore Steps { get; }

    public IScheduleStore Schedules { get; }

    public INodeStore Nodes { get; }

    public IEventStore Events { get; }

    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        EnsureInitializedAsync().WaitAsync(cancellationToken);

    /// <summary>
    /// 57P01-57P03, beyond what Npgsql itself calls transient (<c>DbException.IsTransient</c>, which callers ask first): the
    /// server terminated the session (a pooled connection whose backend was killed fails its next command once), is shutting
    /// down, or cannot take connections yet.
    /// </summary>
    public bool IsTransient(Exception error) => error is PostgresException { SqlState: "57P01" or "57P02" or "57P03" };

    public async Task PingAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenRawAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An open pooled connection to a migrated schema; dispose it to return it to the pool.</summary>
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var initialized = Volatile.Read(ref _initialized);
        if (initialized is not { IsCompletedSuccessfully: true })
        {
            await EnsureInitializedAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return await OpenRawAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the pool's idle connections now and its busy ones when they are handed back.</summary>
    public void ClearPool() => _dataSource.Clear();

    /// <summary>See <see cref="PostgresNodeIdentity"/>: the node id is fenced to one live process by a session advisory lock.</summary>
    public Task<LeaseRecoveryResult> RecoverLeasesAsync(LeaseRecoveryRequest request, CancellationToken cancellationToken = default) =>
        _identity.RecoverAsync(request, cancellationToken);

    public async Task ListenAsync(Action onRunnable, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onRunnable);
        var retry = TimeSpan.FromMilliseconds(250);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
                connection.Notification += (_, _) => onRunnable();
                await using (var listen = new NpgsqlCommand($"LISTEN \"{Channel}\"", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                // Anything announced while no connection listened is runnable now: one wake-up covers it.
                onRunnable();
                retry = TimeSpan.FromMilliseconds(250);
                while (true)
                {
                    // A quiet connection is checked now and then, so a dead one is noticed and replaced.
                    if (!await connection.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false))
                    {
                        await using var check = new NpgsqlCommand("SELECT 1", connection);
                        await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or SocketException or TimeoutException)
            {
                Log.ListenFailed(_logger, ex, Channel, retry, Scrub(ex.Message));
                try
                {
                    await Task.Delay(retry, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private Task EnsureInitializedAsync()
    {
        lock (_initLock)
        {
            // A failed start (e.g. the server was down) is retried by the next call.
            if (_initialized is null || _initialized.IsFaulted || _initialized.IsCanceled)
            {
                _initialized = Task.Run(MigrateAsync);
            }

            return _initialized;
        }
    }

    private async Task MigrateAsync()
    {
        await using var connection = await OpenRawAsync(CancellationToken.None).ConfigureAwait(false);
        await PostgresMigrations.ApplyAsync(connection, Schema, _logger, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // Names where it tried; never the password (scrubbed in case a driver message ever carried it).
            throw new InvalidOperationException(
                $"Baton:Store:Postgres: cannot connect to PostgreSQL at {_host}:{_port} (database '{_database}'): {Scrub(ex.Message)}",
                ex);
        }
    }

    /// <summary>The pool size the store uses with <paramref name="connectionString"/>: the one it sets, else <see cref="DefaultMaxPoolSize"/>.</summary>
    internal static int PoolSizeOf(string connectionString) =>
        SetsPoolSize(connectionString) ? new NpgsqlConnectionStringBuilder(connectionString).MaxPoolSize : DefaultMaxPoolSize;

    private static bool SetsPoolSize(string connectionString)
    {
        var keys = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys;
        foreach (string key in keys)
        {
            var normalized = key.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
            if (normalized is "MAXPOOLSIZE" or "MAXIMUMPOOLSIZE")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Logs that a claim's answer was lost (EventId 5207), its message without the password.</summary>
    internal void ClaimAnswerLost(Exception error) => Log.ClaimAnswerLost(_logger, error, Scrub(error.Message));

    private string Scrub(string message) =>
        string.IsNullOrEmpty(_password) ? message : message.Replace(_password, "***", StringComparison.Ordinal);

    public async ValueTask DisposeAsync()
    {
        // Queued writes still run (on the open pool) before the pool closes.
        await Creates.DisposeAsync().ConfigureAwait(false);
        await Writer.DisposeAsync().ConfigureAwait(false);
        await ((PostgresRunStore)Runs).DisposeAsync().ConfigureAwait(false);
        Metrics.Dispose();
        await _identity.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }
}
