using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>
/// The embedded store: one writer connection behind <see cref="SqliteWriter"/> and pooled read
/// connections. The schema is created on <see cref="InitializeAsync"/> or, failing that, on the
/// first operation. One process owns the database at a time (<see cref="SqliteStoreLock"/>); the
/// first store of a process to open it takes over every lease left in it, since their owners are gone.
/// Closing waits for the queued writes and the checkpointer, so the store is only disposed asynchronously (a host
/// does so; a hand-built service provider must be disposed with <c>DisposeAsync</c>).
/// </summary>
internal sealed class SqliteBatonStore : IBatonStore, ILeaseRecovery, IStoreErrors, IAsyncDisposable
{
    private readonly SqliteStoreOptions _options;
    private readonly ILogger _logger;
    private readonly string _writeConnectionString;
    private readonly string _readConnectionString;
    private readonly int _busyTimeoutMilliseconds;

    /// <summary>
    /// The connections' <c>Default Timeout</c>: BusyTimeout is SQLite's own busy handler on every connection
    /// (<see cref="OpenConnection"/>), the one wait. Microsoft.Data.Sqlite also steps a busy statement again every 150 ms
    /// until its command timeout (whole seconds; 0 is for ever) has passed, each step waiting BusyTimeout again: a 100 ms
    /// BusyTimeout failed a write after 1.2 s, a 1.2 s one after 2.6 s. A negative timeout has passed at the first busy
    /// step, so it gives up then (SqliteStoreTests' FailsAfterTheBusyTimeoutAlone tests hold it to that).
    /// </summary>
    private const int NoRetryWhileBusy = -1;
    private readonly TimeProvider _time;
    private readonly Lock _initLock = new();
    private Task<SqliteWriter?>? _open;
    private SqliteCheckpointer? _checkpointer;
    private SqliteStoreLock? _processLock;
    private int _reclaimedAtOpen;
    private bool _disposed;

    public SqliteBatonStore(SqliteStoreOptions options, ILogger logger, TimeProvider? time = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        SqliteStoreOptionsValidator.ThrowIfInvalid(options);
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        Metrics = new SqliteMetrics(meterFactory);
        FilePath = System.IO.Path.GetFullPath(options.Path);
        _busyTimeoutMilliseconds = (int)options.BusyTimeout.TotalMilliseconds;
        _writeConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = NoRetryWhileBusy,
        }.ToString();
        _readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = options.ReadOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite,
            Pooling = true,
            DefaultTimeout = NoRetryWhileBusy,
        }.ToString();
        Runs = new SqliteRunStore(this);
        Steps = new SqliteStepStore(this);
        Schedules = new SqliteScheduleStore(this);
        Nodes = new SqliteNodeStore(this);
        Events = new SqliteEventStore(this);
    }

    public string FilePath { get; }

    public IRunStore Runs { get; }

    public IStepStore Steps { get; }

    public IScheduleStore Schedules { get; }

    public INodeStore Nodes { get; }

    public IEventStore Events { get; }

    internal SqliteMetrics Metrics { get; }

    /// <summary>The background checkpointer once the store is open; null with <c>CheckpointInterval</c> zero.</summary>
    internal SqliteCheckpointer? Checkpointer => Volatile.Read(ref _checkpointer);

    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        OpenAsync().WaitAsync(cancellationToken);

    /// <summary>
    /// A full disk, an I/O error or a read-only file (<see cref="SqliteFileErrors.IsDisk"/>): the disk, not the request; or a
    /// lock another connection held past BusyTimeout (<see cref="SqliteFileErrors.IsLocked"/>): a busy database, which
    /// Microsoft.Data.Sqlite does not call transient, though nothing was written and a retry gets past it.
    /// </summary>
    public bool IsTransient(Exception error) =>
        error is SqliteException sqlite && (SqliteFileErrors.IsDisk(sqlite) || SqliteFileErrors.IsLocked(sqlite));

    public Task PingAsync(CancellationToken cancellationToken = default)
    {
        // A write that failed on the disk (and none committed since), or a writer that stopped, makes the store unusable
        // whatever a read says.
        if (Volatile.Read(ref _open) is { IsCompletedSuccessfully: true } open && open.Result is { } writer)
        {
            if (writer.Failure is { } stopped)
            {
                return Task.FromException(stopped);
            }

            if (writer.DiskError is { } disk)
            {
                return Task.FromException(new InvalidOperationException($"the last write to '{FilePath}' failed and none has succeeded since: {disk.Message}", disk));
            }
        }

        return ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            return command.ExecuteScalar();
        }, cancellationToken);
    }

    /// <summary>Runs <paramref name="operation"/> on the writer; completes after its transaction commits.</summary>
    /// <param name="completeOnWriter">See <see cref="SqliteWriter.WriteAsync{T}"/>.</param>
    public Task<T> WriteAsync<T>(Func<WriteContext, T> operation, CancellationToken cancellationToken, bool completeOnWriter = false)
    {
        // Once open, the caller awaits the writer's own task: no async layer (state machine, continuation) of ours per write.
        var open = OpenAsync();
        return open.IsCompletedSuccessfully
            ? Writer(open.Result).WriteAsync(operation, cancellationToken, completeOnWriter)
            : OpenThenWriteAsync(open, operation, cancellationToken, completeOnWriter);
    }

    private async Task<T> OpenThenWriteAsync<T>(Task<SqliteWriter?> open, Func<WriteContext, T> operation, CancellationToken cancellationToken, bool completeOnWriter)
    {
        var writer = await open.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await Writer(writer).WriteAsync(operation, cancellationToken, completeOnWriter).ConfigureAwait(false);
    }

    private SqliteWriter Writer(SqliteWriter? writer) =>
        writer ?? throw new InvalidOperationException($"Baton:Store:Sqlite: the store on '{FilePath}' was opened read-only; it cannot write.");

    /// <summary>Runs <paramref name="read"/> on a pooled read connection (sees every committed write).</summary>
    public async Task<T> ReadAsync<T>(Func<SqliteConnection, T> read, CancellationToken cancellationToken)
    {
        await OpenAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = OpenConnection(_readConnectionString);
        // The store may have been disposed since OpenAsync looked: if its pool was cleared before this connection was taken,
        // the connection came from a new pool and would stay open in it (before: a descriptor on the database, its WAL never
        // removed, until the process exited). Checked after the connection is taken (the fence keeps the order), so a dispose
        // not seen here clears the pool later and closes this connection as it comes back.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _disposed))
        {
            ClearReadPool();
            throw new ObjectDisposedException(GetType().FullName);
        }

        return read(connection);
    }

    /// <summary>
    /// Closes the idle pooled read connections and marks the ones in use to be closed as they come back, not pooled.
    /// </summary>
    private void ClearReadPool()
    {
        using var connection = new SqliteConnection(_readConnectionString);
        SqliteConnection.ClearPool(connection);
    }

    /// <summary>
    /// Opens a connection to the database that waits up to BusyTimeout for a lock held by another connection, in SQLite's
    /// busy handler (set on the handle, before any statement, so the writer's switch to WAL waits too; a pooled connection
    /// is set again, at the cost of one call).
    /// </summary>
    internal SqliteConnection OpenConnection(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            SqliteException.ThrowExceptionForRC(SQLitePCL.raw.sqlite3_busy_timeout(connection.Handle, _busyTimeoutMilliseconds), connection.Handle);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private Task<SqliteWriter?> OpenAsync()
    {
        // Not once disposed: a read after the close opened a pooled connection the cleared pool then kept open.
        var open = Volatile.Read(ref _open);
        if (open is { IsCompletedSuccessfully: true } && !Volatile.Read(ref _disposed))
        {
            return open;
        }

        lock (_initLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // A failed open (e.g. the directory could not be created) is retried by the next call.
            if (_open is null || _open.IsFaulted || _open.IsCanceled)
            {
                _open = Task.Run(Open);
            }

            return _open;
        }
    }

    private SqliteWriter? Open()
    {
        if (_options.ReadOnly)
        {
            if (!File.Exists(FilePath))
            {
                throw new InvalidOperationException($"Baton:Store:Sqlite: the database '{FilePath}' does not exist (the store was opened read-only).");
            }

            return null;
        }

        var directory = System.IO.Path.GetDirectoryName(FilePath);
        if (!string.IsNullOrEmpty(directory))
        {
            try
            {
                Directory.CreateDirectory(directory);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                throw new InvalidOperationException(
                    $"Baton:Store:Sqlite: cannot create the directory '{directory}' for the database file: {ex.Message}", ex);
            }
        }

        var processLock = SqliteStoreLock.Acquire(FilePath, out var firstInProcess);
        SqliteConnection? connection = null;
        try
        {
            connection = OpenConnection(_writeConnectionString);
            using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA journal_mode=WAL";
                var mode = Convert.ToString(pragma.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException(
                        $"Baton:Store:Sqlite: '{FilePath}' could not be switched to WAL mode (it is '{mode}'); the file system may not support it.");
                }

                var synchronous = _options.Durability == SqliteDurability.FullSync ? "FULL" : "NORMAL";
                pragma.CommandText =
                    $"PRAGMA synchronous={synchronous}; PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;";
                pragma.ExecuteNonQuery();
            }

            SqliteMigrations.Apply(connection, FilePath, _logger);
            if (firstInProcess)
            {
                TakeOverLeases(connection);
            }

            if (_options.CheckpointInterval > TimeSpan.Zero)
            {
                // The background connection checkpoints; the writer does only past the backstop.
                using (var pragma = connection.CreateCommand())
                {
                    pragma.CommandText = $"PRAGMA wal_autocheckpoint={_options.WalBackstopPages}";
                    pragma.ExecuteNonQuery();
                }

                Volatile.Write(ref _checkpointer, SqliteCheckpointer.Start(OpenConnection(_writeConnectionString), _options.CheckpointInterval, _time, _logger, Metrics));
            }

            _processLock = processLock;
            return new SqliteWriter(connection, _options.MaxBatchSize, _logger, Metrics);
        }
        catch (SqliteException ex) when (SqliteFileErrors.Describe(ex) is { } wrong)
        {
            connection?.Dispose();
            processLock.Release();
            // Named, with the setting: before, only "SQLite Error 26: 'file is not a database'", and with the catalog on, the
            // last line before it named another file.
            throw new InvalidOperationException($"Baton:Store:Sqlite:Path '{FilePath}': {ex.Message} ({wrong})", ex);
        }
        catch
        {
            connection?.Dispose();
            processLock.Release();
            throw;
        }
    }

    /// <summary>
    /// Makes every lease in the database claimable at once: this process owns the database and no other store of it
    /// had it open, so each lease names a process that is gone (a crash), and waiting for its expiry only delays
    /// the resume. The owner stays, so the claim counts as a takeover.
    /// </summary>
    private void TakeOverLeases(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"UPDATE runs SET lease_expires_at = 0 WHERE {StoredValues.ActiveStatus} AND lease_owner IS NOT NULL";
        var count = command.ExecuteNonQuery();
        if (count > 0)
        {
            Log.LeasesTakenOver(_logger, count, FilePath);
        }

        Volatile.Write(ref _reclaimedAtOpen, count);
    }

    /// <summary>
    /// The leases were taken over when the database was opened, whatever their owner's node id: the lease owner
    /// stays the node id, and this returns (once) how many were taken over.
    /// </summary>
    public async Task<LeaseRecoveryResult> RecoverLeasesAsync(LeaseRecoveryRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.NodeId, "request.NodeId");
        await OpenAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return new LeaseRecoveryResult(request.NodeId, Interlocked.Exchange(ref _reclaimedAtOpen, 0));
    }

    public async ValueTask DisposeAsync()
    {
        Task<SqliteWriter?>? open;
        lock (_initLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            open = _open;
        }

        try
        {
            if (open is not null)
            {
                try
                {
                    var writer = await open.ConfigureAwait(false);
                    try
                    {
                        // The checkpointer's connection closes first: the writer's close is then the last
                        // one, which checkpoints what is left and removes the WAL.
                        if (Checkpointer is { } checkpointer)
                        {
                            await checkpointer.DisposeAsync().ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        if (writer is not null)
                        {
                            await writer.DisposeAsync().ConfigureAwait(false);
                        }
                    }
                }
                catch (Exception) when (!open.IsCompletedSuccessfully)
                {
                    // The store never opened; there is nothing to close.
                }
            }
        }
        finally
        {
            // Also when a close above failed (a writer whose loop stopped rethrows its error): before, the error skipped
            // these, and the process kept the database's lock file locked and its read connections open until it exited.
            ClearReadPool();
            _processLock?.Release();
            Metrics.Dispose();
        }
    }
}
