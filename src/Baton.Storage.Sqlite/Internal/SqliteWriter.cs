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
/// </summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    private readonly Channel<WriteOperation> _queue;
    private readonly SqliteConnection _connection;
    private readonly WriteContext _context;
    private readonly int _maxBatchSize;
    private readonly ILogger _logger;
    private readonly SqliteMetrics _metrics;
    private readonly Task _loop;

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
        _loop = Task.Run(RunAsync);
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
        return _queue.Writer.TryWrite(op) ? op.Task : QueueAsync(op, cancellationToken);
    }

    private async Task<T> QueueAsync<T>(WriteOperation<T> op, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(op, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(SqliteBatonStore), "The SQLite store has been disposed.");
        }

        return await op.Task.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<WriteOperation>(_maxBatchSize);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
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
            }
        }
    }

    private void ExecuteBatch(List<WriteOperation> batch)
    {
        try
        {
            _context.Begin();
            try
            {
                foreach (var op in batch)
                {
                    op.Execute(_context);
                }

                _context.Commit();
                _metrics.Commits.Add(1);
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
            if (batch.Count == 1)
            {
                batch[0].Fail(ex);
            }
            else
            {
                Log.BatchFailed(_logger, batch.Count, ex);
                foreach (var op in batch)
                {
                    ExecuteAlone(op);
                }
            }
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
            op.Fail(ex);
        }
    }

    /// <summary>Stops taking new operations, runs the ones already queued, then closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _context.Dispose();
        await _connection.DisposeAsync().ConfigureAwait(false);
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
