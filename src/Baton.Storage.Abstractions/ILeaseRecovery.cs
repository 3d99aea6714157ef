namespace Baton.Storage;

/// <summary>
/// Optional for a store: lets a restarted node resume the runs its earlier process held without waiting for their
/// leases to expire. Called once when the node starts, before its worker claims anything; a store without it
/// leaves those runs to be taken over when their leases expire.
/// </summary>
public interface ILeaseRecovery
{
    /// <summary>
    /// Makes every lease held by an earlier process of node <c>NodeId</c> claimable at once, if the store can tell
    /// that process is gone, and returns the lease owner name this process must use: the node id itself, or, when
    /// another live process already holds that node id, a name of its own (and then nothing is reclaimed).
    /// </summary>
    Task<LeaseRecoveryResult> RecoverLeasesAsync(LeaseRecoveryRequest request, CancellationToken cancellationToken = default);
}

/// <summary>The starting node's identity (the engine's <c>Baton:Engine:NodeId</c>) and the time.</summary>
public sealed record LeaseRecoveryRequest(string NodeId, DateTimeOffset Now);

/// <param name="Owner">The lease owner name this process uses from now on.</param>
/// <param name="Reclaimed">How many leases of an earlier process were made claimable.</param>
public sealed record LeaseRecoveryResult(string Owner, int Reclaimed);
