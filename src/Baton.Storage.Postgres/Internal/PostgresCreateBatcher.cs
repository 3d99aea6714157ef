using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// Group commit for creates that name a concurrency key. Such a create takes the key's advisory lock, which another
/// node may hold for the length of its own transaction; so these creates do not go to <see cref="PostgresWriter"/>
/// (a wait there would stall every hot write of this node) but to this loop of their own. It takes everything queued
/// (up to the batch size) and creates it in one transaction with <see cref="PostgresRunStore.CreateManyAsync"/>: the
/// advisory locks of all the batch's keys first, in one sorted order (so two nodes' batches never wait on each other
/// in a circle), then one create statement per caller in queue order, each seeing the runs of the ones before it
/// (two creates of one key in a batch count each other; a second create with an idempotency key finds the first).
/// If a batch fails it is rolled back as a whole and its creates are run again one transaction each, so a bad create
/// fails only its own caller. A batch whose answer was lost may have committed: its creates then run again in the form
/// that finds the run the first try stored and reports it created.
/// </summary>
internal sealed class PostgresCreateBatcher : IAsyncDisposable
{
    /// <summary>The most creates committed together.</summary>
    public const int MaxBatchSize = 64;

    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(MaxBatchSize * 4)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly PostgresRunStore _runs;
    private readonly KeptConnection _connection;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public PostgresCreateBatcher(PostgresBatonStore store, PostgresRunStore runs, ILogger logger)
    {
        _runs = runs;
        _logger = logger;
        _connection = new KeptConnection(store);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Queues <paramref name="request"/> (already validated) and completes once its transaction has committed.</summary>
    public async Task<CreateRunResult> CreateAsync(CreateRunRequest request, CancellationToken cancellationToken)
    {
        var pending = new Pending(request, cancellationToken);
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(PostgresBatonStore), "The PostgreSQL store has been disposed.");
        }

        return await pending.Completion.Task.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatchSize);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatchSize && reader.TryRead(out var pending))
            {
                // Checked only before the create joins a batch: once it runs, its outcome is reported as it is.
                if (!(pending.CancellationToken.IsCancellationRequested && pending.Completion.TrySetCanceled(pending.CancellationToken)))
                {
                    batch.Add(pending);
                }
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                var results = await CreateAsync(batch).ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(results[i]);
                }
            }
            catch (Exception ex) when (batch.Count > 1)
            {
                Log.CreateBatchFailed(_logger, ex, batch.Count, ex.Message);
                var lost = PostgresWriterLane.AnswerLost(ex);
                foreach (var pending in batch)
                {
                    try
                    {
                        pending.Completion.TrySetResult((await CreateAsync([pending], again: lost).ConfigureAwait(false))[0]);
                    }
                    catch (Exception alone)
                    {
                        pending.Completion.TrySetException(alone);
                    }
                }
            }
            catch (Exception ex)
            {
                batch[0].Completion.TrySetException(ex);
            }
        }
    }

    private Task<CreateRunResult[]> CreateAsync(List<Pending> batch, bool again = false) =>
        _connection.UseAsync(
            connection => _runs.CreateManyAsync(connection, batch.ConvertAll(p => p.Request), CancellationToken.None, again),
            CancellationToken.None);

    /// <summary>Stops taking new creates, runs the ones already queued, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    private sealed record Pending(CreateRunRequest Request, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<CreateRunResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
