using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>
/// The one writer of a store. Callers queue operations; the loop takes everything queued (up to
/// the batch size), runs it in one transaction and commits once, then completes each caller. A
/// commit is what costs (the WAL append and, with FullSync, the fsync), so concurrent callers
/// share it. If a batch throws, it is rolled back and its operations are re-run one transaction
/// each, so a bad operation fails only its own caller.
/// The loop runs on a thread of its own, not on the thread pool: woken by the operation that finds it idle, it runs at
/// once instead of queueing behind the pool's work items (the HTTP requests whose writes it holds), and a batch costs no
/// work item. Measured in the gateway's live phase: see BENCHMARKS.md, "Measurements behind the gateway's hot path".
/// </summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    private readonly Channel<WriteOperation> _queue;
    private readonly SqliteConnection _connection;
    private readonly WriteContext _context;
    private readonly int _maxBatchSize;
    private readonly ILogger _logger;
    private readonly SqliteMetrics _metrics;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _wake = new(0);

    // 1 while the loop has found the queue empty and is about to sleep or sleeping; the operation that takes it back to 0 wakes the loop.
    private int _idle;

    public SqliteWriter(SqliteConnection connection, int maxBatchSize, ILogger logger, SqliteMetrics metrics)
    {
        _connection = connection;
        _context = new WriteContext(connection);
        _maxBatchSize = maxBatchSize;
        _logger = logger;
        _metrics = metrics;
        _queue = Channel.CreateBounded<WriteOperation>(new BoundedChannelOptions(Math.Max(1024, maxBatchSize * 4))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        new Thread(Run) { IsBackground = true, Name = "Baton SQLite writer" }.Start();
    }

    /// <summary>Queues <paramref name="operation"/> and completes once its transaction has committed.</summary>
    /// <param name="completeOnWriter">
    /// True when the caller's continuation is brief and cannot block (<see cref="UpdateRunRequest.ContinuesBriefly"/>):
    /// it then runs on the writer's thread as the operation completes, instead of being queued to the thread pool. The
    /// default is false: every other caller continues on the pool, so no caller's code can hold up the writer.
    /// </param>
    public Task<T> WriteAsync<T>(Func<WriteContext, T> operation, CancellationToken cancellationToken, bool completeOnWriter = false)
    {
        var op = new WriteOperation<T>(operation, cancellationToken, completeOnWriter);
        // The queue has room (the usual case): the caller awaits the operation's own task.
        if (_queue.Writer.TryWrite(op))
        {
            Wake();
            return op.Task;
        }

        return QueueAsync(op, cancellationToken);
    }

    /// <summary>Wakes the loop if it is idle. A full fence on both sides (here and in <see cref="Run"/>), so a queued operation is never left unseen.</summary>
    private void Wake()
    {
        if (Interlocked.CompareExchange(ref _idle, 0, 1) == 1)
        {
            _wake.Release();
        }
    }

    private async Task<T> QueueAsync<T>(WriteOperation<T> op, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(op, cancellationToken).ConfigureAwait(false);
            Wake();
        }
        catch (ChannelClosedException)
        {
            throw Failure ?? (Exception)new ObjectDisposedException(nameof(SqliteBatonStore), "The SQLite store has been disposed.");
        }

        return await op.Task.ConfigureAwait(false);
    }

    private void Run()
    {
        List<WriteOperation>? batch = null;
        try
        {
            batch = new List<WriteOperation>(_maxBatchSize);
            var reader = _queue.Reader;
            while (true)
            {
                batch.Clear();
                while (batch.Count < _maxBatchSize && reader.TryRead(out var op))
                {
                    if (!op.TryCancel())
                    {
                        batch.Add(op);
                    }
                }

                if (batch.Count > 0)
                {
                    var started = Stopwatch.GetTimestamp();
                    ExecuteBatch(batch);
                    _metrics.WriterBusy.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                    _metrics.Operations.Add(batch.Count);
                    continue;
                }

                if (reader.Completion.IsCompleted)
                {
                    break;
                }

                Interlocked.Exchange(ref _idle, 1);
                if (reader.TryPeek(out _) || reader.Completion.IsCompleted)
                {
                    // Something arrived (or the store is closing) as the loop went idle. If an operation already took the
                    // flag back, its wake-up is on the way: consume it, so the next sleep is a real one.
                    if (Interlocked.Exchange(ref _idle, 0) == 0)
                    {
                        _wake.Wait();
                    }

                    continue;
                }

                _wake.Wait();
            }

            _stopped.TrySetResult();
        }
        catch (Exception ex)
        {
            // The loop itself failed (outside a batch's own error handling: a metrics listener that throws, memory).
            // Before, the error was kept for DisposeAsync alone: the batch's callers, every queued write and every later
            // one waited for ever while reads and pings answered. Now each is answered with the error, later writes are
            // refused with it, and the store's ping reports it.
            var stopped = new InvalidOperationException($"The SQLite store's writer stopped: {ex.Message}", ex);
            Volatile.Write(ref _failure, stopped);
            _queue.Writer.TryComplete(stopped);
            foreach (var op in batch ?? [])
            {
                op.Fail(stopped); // no effect on an operation already answered
            }

            while (_queue.Reader.TryRead(out var queued))
            {
                queued.Fail(stopped);
            }

            _stopped.TrySetException(ex);
        }
    }

    private InvalidOperationException? _failure;

    /// <summary>Why the writer's loop stopped, if it failed; no write is taken after that.</summary>
    public InvalidOperationException? Failure => Volatile.Read(ref _failure);

    private void ExecuteBatch(List<WriteOperation> batch)
    {
        try
        {
            _context.Begin();
        }
        catch (Exception ex)
        {
            // No operation ran: the transaction could not start (another connection, outside Baton, held the write lock
            // past the busy timeout; the disk). Re-running each alone, as a failed batch is, would wait the busy timeout
            // once per operation (a 512-operation batch, most of an hour at the 5 s default); each gets the error now.
            NoteDiskError(ex);
            foreach (var op in batch)
            {
                op.Fail(ex);
            }

            return;
        }

        try
        {
            try
            {
                foreach (var op in batch)
                {
                    op.Execute(_context);
                }

                _context.Commit();
                _metrics.Commits.Add(1);
                Volatile.Write(ref _diskError, null);
            }
            catch
            {
                _context.Rollback();
                throw;
            }

            foreach (var op in batch)
            {
                op.Complete();
            }
        }
        catch (Exception ex)
        {
            NoteDiskError(ex);
            if (batch.Count == 1)
            {
                batch[0].Fail(ex);
            }
            else
            {
                LogBatchFailed(batch.Count, ex);
                foreach (var op in batch)
                {
                    ExecuteAlone(op);
                }
            }
        }
    }

    /// <summary>
    /// Logs a failed batch without letting the log end the loop: Microsoft.Extensions.Logging passes a provider's exception
    /// on to the caller (a file logger on the full disk that failed the batch throws), and thrown here it ended the writer's
    /// thread, leaving the batch's callers and every later write waiting for ever.
    /// </summary>
    private void LogBatchFailed(int count, Exception error)
    {
        try
        {
            Log.BatchFailed(_logger, count, error);
        }
        catch (Exception)
        {
            // The batch's operations are re-run and answered whatever the log did.
        }
    }

    private void ExecuteAlone(WriteOperation op)
    {
        try
        {
            _context.Begin();
            try
            {
                op.Execute(_context);
                _context.Commit();
                _metrics.Commits.Add(1);
                Volatile.Write(ref _diskError, null);
            }
            catch
            {
                _context.Rollback();
                throw;
            }

            op.Complete();
        }
        catch (Exception ex)
        {
            NoteDiskError(ex);
            op.Fail(ex);
        }
    }

    private SqliteException? _diskError;

    /// <summary>
    /// The disk error (full, I/O error, read-only) of the last write when no write has committed since, else null. Reads
    /// still work then, so a ping that reads said "ok" while every write failed: a readiness probe kept routing work to a
    /// node that answered it with errors.
    /// </summary>
    public SqliteException? DiskError => Volatile.Read(ref _diskError);

    private void NoteDiskError(Exception ex)
    {
        if (ex is SqliteException disk && SqliteFileErrors.IsDisk(disk))
        {
            Volatile.Write(ref _diskError, disk);
        }
    }

    /// <summary>
    /// Stops taking new operations, runs the ones already queued, then closes the connection; rethrows the loop's error if
    /// it failed, after closing the connection (before, the error left it open for the life of the process).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        Wake();
        try
        {
            await _stopped.Task.ConfigureAwait(false);
        }
        finally
        {
            _wake.Dispose();
            _context.Dispose();
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private abstract class WriteOperation
    {
        public abstract bool TryCancel();

        public abstract void Execute(WriteContext context);

        public abstract void Complete();

        public abstract void Fail(Exception exception);
    }

    private sealed class WriteOperation<T>(Func<WriteContext, T> operation, CancellationToken cancellationToken, bool completeOnWriter) : WriteOperation
    {
        private readonly TaskCompletionSource<T> _completion = new(completeOnWriter ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;

        public Task<T> Task => _completion.Task;

        // Checked only before the operation joins a batch: once it runs, its outcome is reported as it is.
        public override bool TryCancel() =>
            cancellationToken.IsCancellationRequested && _completion.TrySetCanceled(cancellationToken);

        public override void Execute(WriteContext context) => _result = operation(context);

        public override void Complete() => _completion.TrySetResult(_result!);

        public override void Fail(Exception exception) => _completion.TrySetException(exception);
    }
}
