using Npgsql;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// One connection kept open between uses by a loop that runs one statement after another (the writer's batches, a
/// worker's claims). A pooled connection handed back after each use costs a reset on its next use: Npgsql sends
/// <c>RESET ALL; CLOSE ALL; UNLISTEN *; ...</c> first, a round of statements PostgreSQL parses and runs every time.
/// A caller that finds the kept connection busy takes a pooled one, so concurrent callers never wait on each other.
/// After any failure the kept connection is closed (it may be broken or mid-protocol) and the next use opens a new one.
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
            await using var pooled = await store.OpenAsync(cancellationToken).ConfigureAwait(false);
            return await use(pooled).ConfigureAwait(false);
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
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
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
