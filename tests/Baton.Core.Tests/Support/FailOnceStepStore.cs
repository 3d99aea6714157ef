using Baton.Storage;

namespace Baton.Core.Tests.Support;

/// <summary>The real step store, except that the next read of the kind armed throws once (a dropped connection).</summary>
internal sealed class FailOnceStepStore : PassThroughStepStore
{
    public const string Message = "connection dropped";

    private int _armedSteps;
    private int _armedAttempts;
    private int _thrown;

    /// <summary>True once an armed read has thrown.</summary>
    public bool Thrown => Volatile.Read(ref _thrown) == 1;

    /// <summary>The next <see cref="IStepStore.GetStepsAsync"/> throws.</summary>
    public void FailNextStepsRead() => Volatile.Write(ref _armedSteps, 1);

    /// <summary>The next <see cref="IStepStore.GetAttemptsAsync"/> throws.</summary>
    public void FailNextAttemptsRead() => Volatile.Write(ref _armedAttempts, 1);

    /// <summary>
    /// Moves the clock to <paramref name="wakeAt"/>, when the suspended run <paramref name="runId"/> resumes and the armed
    /// read throws; then past the lease of the execution that stopped on it, so the next claim carries on. Returns the run
    /// as the failed read left it and as it ended.
    /// </summary>
    public async Task<(RunRecord Interrupted, RunRecord Ended)> ResumeThroughTheFailedReadAsync(EngineHarness node, ExactClock clock, string runId, DateTimeOffset wakeAt)
    {
        clock.SetUtcNow(wakeAt);
        node.WakeWorker();
        var interrupted = await node.WaitForIdleAsync(runId, _ => Thrown);
        await node.AdvanceWhenClaimLoopWaitsAsync(TimeSpan.FromSeconds(31));
        return (interrupted, await node.WaitForEndAsync(runId));
    }

    public override Task<IReadOnlyList<StepRecord>> GetStepsAsync(string runId, CancellationToken cancellationToken = default) =>
        Fire(ref _armedSteps) ? throw new TimeoutException(Message) : Inner.GetStepsAsync(runId, cancellationToken);

    public override Task<IReadOnlyList<StepAttemptRecord>> GetAttemptsAsync(string runId, CancellationToken cancellationToken = default) =>
        Fire(ref _armedAttempts) ? throw new TimeoutException(Message) : Inner.GetAttemptsAsync(runId, cancellationToken);

    private bool Fire(ref int armed)
    {
        if (Interlocked.Exchange(ref armed, 0) != 1)
        {
            return false;
        }

        Volatile.Write(ref _thrown, 1);
        return true;
    }
}
