namespace Baton.Workers;

/// <summary>Wakes this node's worker when work was stored locally, so it need not wait for its next poll.</summary>
/// <remarks>
/// A run that ends frees a slot, but a claim only finds work if some was announced since the last claim began or that
/// claim took all it asked for (more may be waiting). With a store that announces runnable runs to every node
/// (<see cref="Storage.IRunNotifications"/>), a freed slot wakes the worker only then: on PostgreSQL an empty claim
/// after every run that ended was a round trip and a query per run for nothing. Work nobody announces (a timer
/// falling due, a lease expiring) is found by the poll, as on an idle node.
/// </remarks>
internal sealed class WorkSignal(TimeProvider time)
{
    private readonly SemaphoreSlim _signal = new(0, 1);
    private int _claimMayFindWork = 1;
    private Task? _wait;

    /// <summary>
    /// Whether the worker waits and nothing has woken it yet: no claim is in flight. For tests that move a fake clock, whose
    /// move is seen by a claim only if the claim starts after it.
    /// </summary>
    internal bool Parked => Volatile.Read(ref _wait) is { IsCompleted: false };

    public void Notify()
    {
        Volatile.Write(ref _claimMayFindWork, 1);
        Wake();
    }

    /// <summary>A run that executed here ended. Wakes the worker if a claim may find work, or always when <paramref name="storeAnnounces"/> is false.</summary>
    public void SlotFreed(bool storeAnnounces)
    {
        if (!storeAnnounces || Volatile.Read(ref _claimMayFindWork) == 1)
        {
            Wake();
        }
    }

    /// <summary>A claim is about to look at the store: what was announced before now, it will see.</summary>
    public void ClaimStarting() => Volatile.Write(ref _claimMayFindWork, 0);

    /// <summary>The claim took all it asked for (or failed): more may be waiting.</summary>
    public void ClaimMayHaveLeftWork() => Volatile.Write(ref _claimMayFindWork, 1);

    /// <summary>Waits for a notification or for <paramref name="timeout"/>, whichever is first.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timeoutSource = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            var wait = _signal.WaitAsync(linked.Token);
            Volatile.Write(ref _wait, wait);
            await wait.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void Wake()
    {
        try
        {
            if (_signal.CurrentCount == 0)
            {
                _signal.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Another caller released it first; one pending wake-up is all the worker needs.
        }
    }
}
