using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>
/// Copies committed WAL frames back into the database file on its own connection, every
/// <c>CheckpointInterval</c>, so the writer does not. Left to SQLite, the commit that takes the WAL
/// past 1000 pages runs the checkpoint itself, and every caller of that group commit waits for
/// megabytes of page copies. A PASSIVE checkpoint never blocks the writer or readers; it copies
/// what it can, and once it has caught up the writer starts the WAL from its beginning again.
/// </summary>
internal sealed class SqliteCheckpointer : IAsyncDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _checkpoint;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly SqliteMetrics _metrics;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _due = new(0, 1);
    private readonly ITimer _timer;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<CheckpointResult> _nextPass = NewPass();

    private SqliteCheckpointer(SqliteConnection connection, TimeSpan interval, TimeProvider time, ILogger logger, SqliteMetrics metrics)
    {
        _connection = connection;
        _checkpoint = connection.CreateCommand();
        _checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        _interval = interval;
        _logger = logger;
        _metrics = metrics;
        // The interval is measured by the TimeProvider (so tests drive it); the thread waits on a semaphore the
        // timer releases, not on a task.
        _timer = time.CreateTimer(static state => ((SqliteCheckpointer)state!).Due(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        // A thread of its own: a pass blocks for as long as the page copies take, which would hold
        // up a thread-pool thread that requests are waiting for.
        new Thread(Run) { IsBackground = true, Name = "Baton SQLite checkpointer" }.Start();
    }

    /// <summary>Starts the loop on <paramref name="connection"/>, an open connection of its own, which it then owns.</summary>
    public static SqliteCheckpointer Start(SqliteConnection connection, TimeSpan interval, TimeProvider time, ILogger logger, SqliteMetrics metrics)
    {
        try
        {
            return new SqliteCheckpointer(connection, interval, time, logger, metrics);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Completes with the result of the next checkpoint pass (for tests and diagnostics).</summary>
    internal Task<CheckpointResult> NextPass => Volatile.Read(ref _nextPass).Task;

    private void Run()
    {
        try
        {
            Loop();
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void Loop()
    {
        var failing = false;
        while (true)
        {
            _timer.Change(_interval, Timeout.InfiniteTimeSpan);
            try
            {
                _due.Wait(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            CheckpointResult result;
            try
            {
                result = Checkpoint();
                failing = false;
            }
            catch (Exception ex)
            {
                // The writer's own auto-checkpoint is the backstop; say so once per run of failures.
                if (!failing)
                {
                    Log.CheckpointFailed(_logger, ex);
                }

                failing = true;
                result = CheckpointResult.Failed;
            }

            _metrics.CheckpointPassed(result);
            Interlocked.Exchange(ref _nextPass, NewPass()).TrySetResult(result);
        }
    }

    private void Due()
    {
        try
        {
            _due.Release();
        }
        catch (ObjectDisposedException)
        {
            // The timer fired as the checkpointer was disposed.
        }
    }

    private CheckpointResult Checkpoint()
    {
        // One row: busy (always 0 for PASSIVE), frames in the WAL, frames now in the database file.
        using var reader = _checkpoint.ExecuteReader();
        return reader.Read() ? new CheckpointResult(reader.GetInt64(1), reader.GetInt64(2)) : CheckpointResult.Failed;
    }

    /// <summary>Stops the loop (a pass in progress finishes) and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _stopped.Task.ConfigureAwait(false);
        await _timer.DisposeAsync().ConfigureAwait(false);
        _due.Dispose();
        _checkpoint.Dispose();
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        Volatile.Read(ref _nextPass).TrySetCanceled();
    }

    private static TaskCompletionSource<CheckpointResult> NewPass() =>
        new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// What a checkpoint pass found: <paramref name="WalFrames"/> frames in the WAL, of which
/// <paramref name="CheckpointedFrames"/> are now in the database file; both -1 if the pass failed.
/// </summary>
internal readonly record struct CheckpointResult(long WalFrames, long CheckpointedFrames)
{
    public static CheckpointResult Failed => new(-1, -1);
}
