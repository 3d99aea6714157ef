using Baton.Storage;
using Baton.Workflows;

namespace Baton.Workers;

/// <summary>A run executing on this node: its lease, its progress and the reasons it may be stopped.</summary>
internal sealed class ActiveRun : IDisposable
{
    private static readonly object Sealed = new();
    // Two plain sources and one timer instead of a source per reason, a linked source over them and a timed source with
    // a registration: the linked sources and their callback nodes were a tenth of a single-step run's allocations. Each
    // reason cancels what it stands for itself: an interrupt sets _interrupt before _any, as the linked source did.
    private readonly CancellationTokenSource _interrupt = new();
    private readonly CancellationTokenSource _any = new();
    private readonly ITimer _leaseExpiry;
    private volatile bool _cancelRequested;
    private object? _successor;

    /// <param name="leaseExpiresAt">The expiry of the lease just claimed.</param>
    public ActiveRun(RunRecord run, int maxErrors, DateTimeOffset leaseExpiresAt, TimeProvider time)
    {
        Run = run;
        Progress = new RunProgress(run, maxErrors);
        LeaseExpiresAt = leaseExpiresAt;
        // Self-fencing: when the lease runs out without a renewal (the store is unreachable, the node stalled), another
        // node may claim the run, so this one stops at once rather than run steps the next owner runs too.
        var remaining = Remaining(leaseExpiresAt, time.GetUtcNow());
        if (remaining == TimeSpan.Zero)
        {
            // Already run out: stopped at once, as a source made already cancelled ran its registration at once.
            Interrupt(leaseLost: true);
        }

        _leaseExpiry = time.CreateTimer(
            static s => ((ActiveRun)s!).Interrupt(leaseLost: true), this, remaining == TimeSpan.Zero ? Timeout.InfiniteTimeSpan : remaining, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The span of this execution, or null when nothing listens to Baton's traces.</summary>
    public System.Diagnostics.Activity? Span { get; set; }

    /// <summary>When the lease ends unless renewed, as this node knows it (never later than the store's expiry).</summary>
    public DateTimeOffset LeaseExpiresAt { get; private set; }

    /// <summary>A renewal was stored: the lease now lasts until <paramref name="expiresAt"/>.</summary>
    public void LeaseRenewed(DateTimeOffset expiresAt, DateTimeOffset now)
    {
        if (expiresAt <= LeaseExpiresAt)
        {
            return;
        }

        LeaseExpiresAt = expiresAt;
        try
        {
            // A timer disposed as the execution ended returns false (a TimeProvider's own timer may throw instead).
            _leaseExpiry.Change(Remaining(expiresAt, now), Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static TimeSpan Remaining(DateTimeOffset expiresAt, DateTimeOffset now) =>
        expiresAt > now ? expiresAt - now : TimeSpan.Zero;

    public RunRecord Run { get; }

    /// <summary>The workflow, when the run was created on this node (a claimed run looks it up when it executes).</summary>
    public WorkflowDefinition? Definition { get; init; }

    /// <summary>The input already read into the workflow's input type, when the run was created on this node.</summary>
    public RunInput? Input { get; init; }

    public string RunId => Run.Id;

    public RunProgress Progress { get; }

    /// <summary>Cancelled on shutdown or lease loss: the run must stop and leave its state for the next owner.</summary>
    public CancellationToken InterruptToken => _interrupt.Token;

    /// <summary>Cancelled for either reason, or when the workflow ended badly with work still running (<see cref="StopWork"/>).</summary>
    public CancellationToken AnyToken => _any.Token;

    public bool CancelRequested => _cancelRequested;

    public bool LeaseLost { get; private set; }

    /// <summary>True when the lease is given up because a store write failed (not refused): no other node holds the run yet.</summary>
    public bool StoreFailed { get; private set; }

    public bool Interrupted => _interrupt.IsCancellationRequested;

    public void RequestCancel()
    {
        _cancelRequested = true;
        try
        {
            _any.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Stops what this execution still runs (steps started beside the one whose failure ended the workflow): cancels
    /// <see cref="AnyToken"/> without a cancel request or an interrupt.
    /// </summary>
    public void StopWork()
    {
        try
        {
            _any.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Interrupt(bool leaseLost, bool storeFailed = false)
    {
        LeaseLost |= leaseLost;
        StoreFailed |= storeFailed;
        try
        {
            _interrupt.Cancel();
            _any.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Keeps a claim of this run made while this execution still unwinds (it was stored suspended and woken at once),
    /// to be started once this execution has ended. False if one is already kept
    /// or this execution has ended (<see cref="SealSuccessor"/>).
    /// </summary>
    public bool TrySetSuccessor(RunRecord run, DateTimeOffset leaseExpiresAt) =>
        Interlocked.CompareExchange(ref _successor, new Successor(run, leaseExpiresAt), null) is null;

    /// <summary>At the end of this execution: the claim kept by <see cref="TrySetSuccessor"/>, if any; none is kept after this.</summary>
    public Successor? SealSuccessor() => Interlocked.Exchange(ref _successor, Sealed) as Successor;

    public void Dispose()
    {
        _leaseExpiry.Dispose();
        _any.Dispose();
        _interrupt.Dispose();
    }
}

/// <summary>A claim of a run made while its previous execution on this node was still unwinding.</summary>
internal sealed record Successor(RunRecord Run, DateTimeOffset LeaseExpiresAt);
