using System.Collections.Concurrent;
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
/// cut) within about half a minute instead of the OS default of two hours. If the lock's connection breaks while
/// the process lives, a new process with the same node id could take the lock and reclaim this one's leases; this
/// one then loses them at its next heartbeat (its renewals and writes are fenced by the lease).
/// </remarks>
internal sealed class PostgresNodeIdentity(PostgresBatonStore store, string schema) : IAsyncDisposable
{
    private readonly ConcurrentBag<NpgsqlConnection> _held = [];

    public async Task<LeaseRecoveryResult> RecoverAsync(LeaseRecoveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.NodeId, "request.NodeId");
        var connection = await store.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using (var keepalive = new NpgsqlCommand(
                "SET tcp_keepalives_idle = 15; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3", connection))
            {
                await keepalive.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var tryLock = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended(@lock, 0))", connection))
            {
                tryLock.Parameters.Text("lock", $"baton:{store.Schema}:node:{request.NodeId}");
                if (!(bool)(await tryLock.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    return new LeaseRecoveryResult($"{request.NodeId}-{Guid.NewGuid().ToString("N")[..6]}", 0);
                }
            }

            // Expired as of the epoch rather than now: a claimer whose clock runs behind sees it expired too.
            await using var reclaim = new NpgsqlCommand(
                $"UPDATE {schema}.runs SET lease_expires_at = @expired WHERE lease_owner = @owner AND {StoredValues.ActiveStatus}", connection);
            reclaim.Parameters.Text("owner", request.NodeId).Time("expired", DateTimeOffset.UnixEpoch);
            var reclaimed = await reclaim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _held.Add(connection);
            return new LeaseRecoveryResult(request.NodeId, reclaimed);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Releases the locks and closes their sessions. The unlock is explicit: closing alone leaves the lock to the pool's
    /// deferred reset or to the server backend's exit, which ends a moment after the client closed its socket, and a
    /// process taking the node id at once could then still find it held (seen once in CI as a flaky
    /// RecoverLeasesAsync_HolderClosed_NextProcessTakesIdAndLeases).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        while (_held.TryTake(out var connection))
        {
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
}
