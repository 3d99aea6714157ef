using Npgsql;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// Fences a node id to one live process and takes back the leases its earlier process left. The process that gets
/// the node id's session advisory lock holds it, on a connection of its own, for the store's lifetime; PostgreSQL
/// drops the lock when that session ends, which a SIGKILL does at once (the kernel closes the socket). Holding
/// the lock proves no live process leases as this node id, so every lease named after it is left over from a crash
/// and is made claimable at once. A second live process with the same node id does not get the lock: it leases
/// under a name of its own and reclaims nothing, so the two never run the same run.
/// </summary>
/// <remarks>
/// The lock's session sets TCP keepalives, so the server also notices a host that vanished (power loss, network
/// cut) within about half a minute instead of the OS default of two hours. The lock is checked at every heartbeat
/// (<see cref="EnsureHeldAsync"/>, from the lease renewal and the node heartbeat): if its session broke while the
/// process lives (a terminated backend, a failover, a network blip), the lock is taken again on a new session. If
/// another process with the same node id took it meanwhile, both would lease under one name, which fences nothing, so
/// this process is fenced instead: <see cref="Lost"/> is set, its renewals report every run lost, it claims nothing,
/// and the node heartbeat throws <see cref="NodeIdLostException"/>, which stops the host. The two can overlap for at
/// most one heartbeat interval.
/// </remarks>
internal sealed class PostgresNodeIdentity(PostgresBatonStore store, string schema, Microsoft.Extensions.Logging.ILogger logger) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    // The node id whose lock this process holds (null: none; a process leasing under a name of its own has nothing to check).
    private string? _nodeId;
    private NpgsqlConnection? _lock;
    private volatile bool _lost;

    /// <summary>True once another live process took this process's node id: every lease of it is refused.</summary>
    public bool Lost => _lost;

    public async Task<LeaseRecoveryResult> RecoverAsync(LeaseRecoveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.NodeId, "request.NodeId");
        var connection = await store.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!await TryLockAsync(connection, request.NodeId, cancellationToken).ConfigureAwait(false))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                return new LeaseRecoveryResult($"{request.NodeId}-{Guid.NewGuid().ToString("N")[..6]}", 0);
            }

            // Expired as of the epoch rather than now: a claimer whose clock runs behind sees it expired too.
            await using var reclaim = new NpgsqlCommand(
                $"UPDATE {schema}.runs SET lease_expires_at = @expired WHERE lease_owner = @owner AND {StoredValues.ActiveStatus}", connection);
            reclaim.Parameters.Text("owner", request.NodeId).Time("expired", DateTimeOffset.UnixEpoch);
            var reclaimed = await reclaim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _lock = connection;
            _nodeId = request.NodeId;
            return new LeaseRecoveryResult(request.NodeId, reclaimed);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Makes sure this process still holds its node id's lock: a broken session is replaced and the lock taken again.
    /// Throws <see cref="NodeIdLostException"/> when another process holds it; a store that cannot be reached throws
    /// its own error (nobody can take the id then either, and the next heartbeat checks again).
    /// </summary>
    public async Task EnsureHeldAsync(CancellationToken cancellationToken)
    {
        if (_lost)
        {
            throw LostError();
        }

        if (_nodeId is not { } nodeId)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_lock is { } held)
            {
                try
                {
                    await using var ping = new NpgsqlCommand("SELECT 1", held);
                    await ping.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or ObjectDisposedException)
                {
                    Log.NodeLockSessionBroke(logger, ex, nodeId, ex.Message);
                    _lock = null;
                    // Its session, and the lock with it, is gone: the connection is closed now rather than kept until the
                    // store is disposed.
                    await held.DisposeAsync().ConfigureAwait(false);
                }
            }

            var connection = await store.OpenAsync(cancellationToken).ConfigureAwait(false);
            bool locked;
            try
            {
                locked = await TryLockAsync(connection, nodeId, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // A cancel or a session breaking again: the connection goes back (before: it was left open, a pool slot
                // held until the process ended; found by reading, as RecoverAsync already did this).
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            if (locked)
            {
                _lock = connection;
                Log.NodeLockTakenAgain(logger, nodeId);
                return;
            }

            await connection.DisposeAsync().ConfigureAwait(false);
            _lost = true;
            Log.NodeIdLost(logger, nodeId);
            throw LostError();
        }
        finally
        {
            _gate.Release();
        }
    }

    private NodeIdLostException LostError() => new(
        $"another live process took node id '{_nodeId}' after this process's lock on it broke; this process no longer leases or claims runs and stops");

    /// <summary>Sets the session's keepalives and tries the node id's advisory lock on it.</summary>
    private async Task<bool> TryLockAsync(NpgsqlConnection connection, string nodeId, CancellationToken cancellationToken)
    {
        await using (var keepalive = new NpgsqlCommand(
            "SET tcp_keepalives_idle = 15; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3", connection))
        {
            await keepalive.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var tryLock = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended(@lock, 0))", connection);
        tryLock.Parameters.Text("lock", LockName(store.Schema, nodeId));
        return (bool)(await tryLock.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>The advisory lock's name for <paramref name="nodeId"/> on <paramref name="schema"/> (hashed to its key).</summary>
    public static string LockName(string schema, string nodeId) => $"baton:{schema}:node:{nodeId}";

    /// <summary>
    /// Releases the locks and closes their sessions. The unlock is explicit: closing alone leaves the lock to the pool's
    /// deferred reset or to the server backend's exit, which ends a moment after the client closed its socket, and a
    /// process taking the node id at once could then still find it held (seen once in CI as a flaky
    /// RecoverLeasesAsync_HolderClosed_NextProcessTakesIdAndLeases).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        // Not behind the gate: a heartbeat stuck on a PostgreSQL that hangs must not hold the store's disposal.
        if (Interlocked.Exchange(ref _lock, null) is not { } connection)
        {
            return;
        }

        try
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", connection);
            await unlock.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The session is already gone (the server restarted, the connection broke): its locks went with it.
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
