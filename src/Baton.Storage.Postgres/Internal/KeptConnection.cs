using System.Data;
using Npgsql;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// One connection kept open between uses by a loop that runs one statement after another (the writer's batches, a
/// worker's claims). A pooled connection handed back after each use costs a reset on its next use: Npgsql sends
/// <c>RESET ALL; CLOSE ALL; UNLISTEN *; ...</c> first, a round of statements PostgreSQL parses and runs every time.
/// A caller that finds the kept connection busy takes a pooled one, so concurrent callers never wait on each other.
/// After any failure the connection used is handed back to the pool without its prepared statements (see
/// <see cref="ForgetAsync"/>), and the next use opens a connection again.
/// </summary>
internal sealed class KeptConnection(PostgresBatonStore store) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlConnection? _connection;

    /// <summary>Runs <paramref name="use"/> on the kept connection if it is free, else on a pooled one.</summary>
    public async Task<T> UseAsync<T>(Func<NpgsqlConnection, Task<T>> use, CancellationToken cancellationToken)
    {
        if (!_gate.Wait(0))
        {
            var pooled = await store.OpenAsync(cancellationToken).ConfigureAwait(false);
            T result;
            try
            {
                result = await use(pooled).ConfigureAwait(false);
            }
            catch
            {
                await ForgetAsync(pooled).ConfigureAwait(false);
                throw;
            }

            await pooled.DisposeAsync().ConfigureAwait(false);
            return result;
        }

        try
        {
            var connection = _connection ??= await store.OpenAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await use(connection).ConfigureAwait(false);
            }
            catch
            {
                _connection = null;
                await ForgetAsync(connection).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Hands a connection whose use failed back to the pool with no prepared statement. Npgsql 10 counts an
    /// auto-prepared statement as prepared once PostgreSQL has parsed it, but learns its result columns only after the
    /// bind: when the statement's first prepared execution fails at the bind (a text parameter holding a NUL character,
    /// as in <c>WriteAsync_BadWriteInQueuedBatch_FailsOnlyItsCaller</c>), the physical connection keeps it as prepared
    /// with no result columns, and the next execution of that statement on it, by any caller the pool hands it to, fails
    /// with "Received unexpected backend message DataRow" (Npgsql issue #5803 reports that message, #6391 corrupt
    /// auto-prepared statements after a failed first execution). <c>UnprepareAll</c> drops the statements on both sides
    /// (<c>DEALLOCATE ALL</c> and Npgsql's own bookkeeping); a failure costs one round trip and a re-preparation.
    /// </summary>
    private async Task ForgetAsync(NpgsqlConnection connection)
    {
        try
        {
            if (connection.State == ConnectionState.Open)
            {
                // Npgsql has no asynchronous form; the round trip happens only after a failure.
                connection.UnprepareAll();
            }
        }
        catch (Exception)
        {
            // Whatever this throws, the caller's own failure is what it reports. Broken connections are not pooled; an
            // open one that could not forget is closed when it is handed back.
            if (connection.State == ConnectionState.Open)
            {
                store.ClearPool();
            }
        }

        await connection.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Closes the kept connection once its current use has ended.</summary>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_connection is { } connection)
            {
                _connection = null;
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
