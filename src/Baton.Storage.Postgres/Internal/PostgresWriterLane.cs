using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// One lane of <see cref="PostgresWriter"/>: a queue, the loop that empties it and the connection it keeps. The loop
/// takes everything queued (up to the batch size), sends it as one <see cref="NpgsqlBatch"/> (one round trip, one
/// implicit transaction, one commit) and completes every caller with its own statement's result. If a batch fails
/// (a bad write, a deadlock with another lane or node) it is rolled back as a whole and its statements are re-run one
/// transaction each, so only the failing statement's caller sees the failure. Every statement is fenced by its lease
/// check, so running it alone or in a batch gives the same outcome. A batch whose answer was lost (the connection broke,
/// the server was shut down) may have committed before: its statements are re-run all the same, a create as the form
/// that finds the run its first try stored (see <see cref="PostgresWriter.WriteAsync{T}"/>).
/// </summary>
internal sealed class PostgresWriterLane : IAsyncDisposable
{
    private readonly PostgresMetrics _metrics;
    private readonly Channel<WriteOperation> _queue;
    private readonly int _maxBatchSize;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private readonly KeptConnection _connection;

    public PostgresWriterLane(PostgresBatonStore store, int maxBatchSize, ILogger logger, PostgresMetrics metrics)
    {
        _metrics = metrics;
        _maxBatchSize = maxBatchSize;
        _logger = logger;
        _queue = Channel.CreateBounded<WriteOperation>(new BoundedChannelOptions(Math.Max(1024, maxBatchSize * 4))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _connection = new KeptConnection(store);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Queues <paramref name="command"/>; see <see cref="PostgresWriter.WriteAsync{T}"/>.</summary>
    public async Task<T> WriteAsync<T>(
        NpgsqlBatchCommand command, Func<NpgsqlDataReader, Task<T>> read, CancellationToken cancellationToken,
        Func<NpgsqlBatchCommand>? afterLostAnswer = null)
    {
        // Rewritten on the caller's thread, not the writer's loop; the first execution sends the command itself.
        PositionalSql.MakePositional(command);
        var op = new WriteOperation<T>(command, read, cancellationToken, afterLostAnswer);
        try
        {
            await _queue.Writer.WriteAsync(op, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(PostgresBatonStore), "The PostgreSQL store has been disposed.");
        }

        return await op.Task.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<WriteOperation>(_maxBatchSize);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Let the writes that are ready to be queued (continuations already scheduled) join this batch.
            await Task.Yield();
            batch.Clear();
            while (batch.Count < _maxBatchSize && reader.TryRead(out var op))
            {
                if (!op.TryCancel())
                {
                    batch.Add(op);
                }
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                await ExecuteAsync(batch, static op => op.Command).ConfigureAwait(false);
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
                    continue;
                }

                Log.BatchFailed(_logger, ex, batch.Count, ex.Message);
                var lost = AnswerLost(ex);
                foreach (var op in batch)
                {
                    try
                    {
                        await ExecuteAsync([op], again => again.CommandAgain(lost)).ConfigureAwait(false);
                        op.Complete();
                    }
                    catch (Exception alone)
                    {
                        op.Fail(alone);
                    }
                }
            }
        }
    }

    /// <summary>
    /// True if <paramref name="error"/> leaves the batch's outcome unknown: no answer came (a broken connection, a
    /// timeout), or the server ended the session (57P01-57P03), which it may do after the commit, before the answer.
    /// An error PostgreSQL reported otherwise rolled the batch back.
    /// </summary>
    internal static bool AnswerLost(Exception error) =>
        error is not PostgresException { SqlState: var state } || state is "57P01" or "57P02" or "57P03" || state.StartsWith("08", StringComparison.Ordinal);

    /// <summary>Runs <paramref name="ops"/> as one batch; each reads its result, and nothing is reported before the commit.</summary>
    private async Task ExecuteAsync(IReadOnlyList<WriteOperation> ops, Func<WriteOperation, NpgsqlBatchCommand> commandOf)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await _connection.UseAsync(connection => ExecuteAsync(connection, ops, commandOf), CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _metrics.WriterBusy.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
            _metrics.Operations.Add(ops.Count);
        }
    }

    private async Task<bool> ExecuteAsync(NpgsqlConnection connection, IReadOnlyList<WriteOperation> ops, Func<WriteOperation, NpgsqlBatchCommand> commandOf)
    {
        await using var batch = new NpgsqlBatch(connection);
        try
        {
            foreach (var op in ops)
            {
                batch.BatchCommands.Add(commandOf(op));
            }

            await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
            for (var i = 0; i < ops.Count; i++)
            {
                if (i > 0 && !await reader.NextResultAsync().ConfigureAwait(false))
                {
                    throw new InvalidOperationException("The batch returned fewer result sets than it had statements.");
                }

                await ops[i].ReadAsync(reader).ConfigureAwait(false);
            }

            // Disposing the reader consumes up to ReadyForQuery: an error at commit surfaces here, before anyone is told.
            await reader.DisposeAsync().ConfigureAwait(false);
            _metrics.Commits.Add(1);
            return true;
        }
        finally
        {
            batch.BatchCommands.Clear();
        }
    }

    /// <summary>Stops taking new writes, runs the ones already queued, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    private abstract class WriteOperation
    {
        public abstract NpgsqlBatchCommand Command { get; }

        /// <summary>
        /// The statement of a re-run: after a lost answer (<paramref name="answerLost"/>) the form that finds what the first
        /// try stored, if the write has one; else a copy (Npgsql binds a command to the batch that ran it).
        /// </summary>
        public abstract NpgsqlBatchCommand CommandAgain(bool answerLost);

        public abstract bool TryCancel();

        public abstract Task ReadAsync(NpgsqlDataReader reader);

        public abstract void Complete();

        public abstract void Fail(Exception exception);
    }

    private sealed class WriteOperation<T>(
        NpgsqlBatchCommand command, Func<NpgsqlDataReader, Task<T>> read, CancellationToken cancellationToken,
        Func<NpgsqlBatchCommand>? afterLostAnswer) : WriteOperation
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;

        public Task<T> Task => _completion.Task;

        public override NpgsqlBatchCommand Command => command;

        public override NpgsqlBatchCommand CommandAgain(bool answerLost)
        {
            if (answerLost && afterLostAnswer is not null)
            {
                var again = afterLostAnswer();
                PositionalSql.MakePositional(again);
                return again;
            }

            return PositionalSql.Copy(command);
        }

        // Checked only before the operation joins a batch: once it runs, its outcome is reported as it is.
        public override bool TryCancel() =>
            cancellationToken.IsCancellationRequested && _completion.TrySetCanceled(cancellationToken);

        public override async Task ReadAsync(NpgsqlDataReader reader) => _result = await read(reader).ConfigureAwait(false);

        public override void Complete() => _completion.TrySetResult(_result!);

        public override void Fail(Exception exception) => _completion.TrySetException(exception);
    }
}
