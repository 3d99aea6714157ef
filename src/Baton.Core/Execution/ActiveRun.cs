using Baton.Storage;

namespace Baton.Execution;

/// <summary>A run executing on this node: its lease, its progress and the reasons it may be stopped.</summary>
internal sealed class ActiveRun : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly CancellationTokenSource _interrupt = new();
    private readonly CancellationTokenSource _any;

    public ActiveRun(RunRecord run, int maxErrors)
    {
        Run = run;
        Progress = new RunProgress(run, maxErrors);
        _any = CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token, _interrupt.Token);
    }

    public RunRecord Run { get; }

    public string RunId => Run.Id;

    public RunProgress Progress { get; }

    /// <summary>Cancelled by a cancel request (the run ends cancelled) — not by shutdown.</summary>
    public CancellationToken CancelToken => _cancel.Token;

    /// <summary>Cancelled on shutdown or lease loss: the run must stop and leave its state for the next owner.</summary>
    public CancellationToken InterruptToken => _interrupt.Token;

    /// <summary>Cancelled for either reason.</summary>
    public CancellationToken AnyToken => _any.Token;

    public bool CancelRequested => _cancel.IsCancellationRequested;

    public bool LeaseLost { get; private set; }

    public bool Interrupted => _interrupt.IsCancellationRequested;

    public void RequestCancel()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Interrupt(bool leaseLost)
    {
        LeaseLost |= leaseLost;
        try
        {
            _interrupt.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _any.Dispose();
        _cancel.Dispose();
        _interrupt.Dispose();
    }
}
