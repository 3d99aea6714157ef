using Microsoft.Extensions.Logging;
using Npgsql;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// Group commit for a worker's hot writes (creates without a concurrency key, run updates, lease renewals and releases,
/// attempt starts and ends). Callers queue one statement each; each of a few lanes (<see cref="PostgresWriterLane"/>)
/// sends what queued on it as one batch and one commit on a connection of its own, so while one PostgreSQL backend
/// executes a batch another can execute the next one. A commit is what costs, so concurrent runs share it.
/// </summary>
/// <remarks>
/// A write goes to the lane of its run (<see cref="LaneOf"/>): one run's writes stay on one connection in the order
/// they were queued, and a lane's batches touch only the rows of its own runs (the run's row, its steps and attempts),
/// so two lanes of this node never lock the same rows and cannot deadlock on them. A statement that touches several
/// runs (a lease renewal) is split by lane by its caller. What two lanes can still both meet is a unique index entry
/// (two creates naming the same idempotency key or schedule fire under different run ids): PostgreSQL then makes the
/// later wait, and should two such waits ever form a circle it fails one batch with a deadlock, which its lane re-runs
/// one statement at a time. Creates with a concurrency key do not come here (they may wait on the key's advisory lock,
/// which must not stall everybody's writes: see <see cref="PostgresCreateBatcher"/>), nor do claims.
/// </remarks>
internal sealed class PostgresWriter : IAsyncDisposable
{
    private readonly PostgresWriterLane[] _lanes;

    public PostgresWriter(PostgresBatonStore store, int maxBatchSize, int connections, ILogger logger, PostgresMetrics metrics)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 1);
        _lanes = new PostgresWriterLane[connections];
        for (var i = 0; i < connections; i++)
        {
            _lanes[i] = new PostgresWriterLane(store, maxBatchSize, logger, metrics);
        }
    }

    /// <summary>How many lanes (kept connections) the writer has.</summary>
    public int Lanes => _lanes.Length;

    /// <summary>The lane that carries <paramref name="runId"/>'s writes: the same for the life of this writer.</summary>
    public int LaneOf(string runId) =>
        _lanes.Length == 1 ? 0 : (int)((uint)StringComparer.Ordinal.GetHashCode(runId) % (uint)_lanes.Length);

    /// <summary>
    /// Queues <paramref name="command"/>, a write of run <paramref name="runId"/> only, on that run's lane (made positional
    /// here, and copied if it must run again) and completes once its transaction has committed, with what
    /// <paramref name="read"/> made of the command's own result set. <paramref name="afterLostAnswer"/>, if given, makes
    /// the statement run instead when the write runs again after a batch whose answer was lost (it may have committed):
    /// one that recognises what the first try stored.
    /// </summary>
    public Task<T> WriteAsync<T>(
        string runId, NpgsqlBatchCommand command, Func<NpgsqlDataReader, Task<T>> read, CancellationToken cancellationToken,
        Func<NpgsqlBatchCommand>? afterLostAnswer = null) =>
        _lanes[LaneOf(runId)].WriteAsync(command, read, cancellationToken, afterLostAnswer);

    /// <summary>Stops taking new writes, runs the ones already queued on every lane, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Array.ConvertAll(_lanes, lane => lane.DisposeAsync().AsTask())).ConfigureAwait(false);
    }
}
