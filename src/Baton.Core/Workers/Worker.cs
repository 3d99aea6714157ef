using System.Collections.Concurrent;
using Baton.Hosting;
using Baton.Storage;
using Baton.Workflows;
using Microsoft.Extensions.Hosting;

namespace Baton.Workers;

/// <summary>
/// The loop on each node that claims runnable runs with a lease, executes them, renews their leases
/// and writes their live progress.
/// </summary>
/// <remarks>
/// Shutdown rules: when the host stops, the worker stops claiming at once, lets in-flight runs go on
/// for up to <see cref="BatonOptions.DrainTimeout"/>, then interrupts the rest; an interrupted run keeps
/// its status and its lease is released so any node can resume it from its last completed step.
/// Heartbeats go on until the last run has stopped, so a draining node keeps its leases.
/// </remarks>
internal sealed partial class Worker(RunExecutor executor, EngineServices engine, WorkSignal signal, WorkflowRegistry registry) : BackgroundService, IBatonWorkerStatus
{
    private readonly ConcurrentDictionary<string, ActiveRun> _active = new(StringComparer.Ordinal);
    // The executions in flight, for the drain at shutdown. Each removes itself as it ends (no continuation per run, which
    // cost a thread-pool hop and two allocations); the entry is Task.CompletedTask until Start has the task.
    private readonly ConcurrentDictionary<ActiveRun, Task> _tasks = new();
    private readonly CancellationTokenSource _housekeepingStop = new();
    private string[]? _workflows;
    private string[]? _workflowVersions;
    private bool _storeAnnounces;

    /// <summary>True while the claim loop runs.</summary>
    public bool IsRunning { get; private set; }

    public int ActiveCount => _active.Count;

    /// <summary>Raised after an execution of a run on this node ends (for any reason), with the run id.</summary>
    internal event Action<string>? ExecutionEnded;

    public bool Enabled => engine.Options.RunWorker;

    int IBatonWorkerStatus.ActiveRuns => _active.Count;

    /// <summary>Cancels a run executing on this node at once (the cancel request is already stored).</summary>
    public void CancelLocal(string runId)
    {
        if (_active.TryGetValue(runId, out var run))
        {
            run.RequestCancel();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = engine.Options;
        if (!options.RunWorker)
        {
            return;
        }

        _storeAnnounces = engine.Services.GetService(typeof(IBatonStore)) is IRunNotifications;
        Log.WorkerStarted(engine.Logger, engine.Owner, options.MaxConcurrentRuns);
        IsRunning = true;
        var heartbeat = Task.Run(() => HeartbeatLoopAsync(_housekeepingStop.Token), CancellationToken.None);
        var flush = Task.Run(() => FlushLoopAsync(_housekeepingStop.Token), CancellationToken.None);
        var listen = Task.Run(() => ListenAsync(stoppingToken), CancellationToken.None);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var claimed = 0;
                var free = options.MaxConcurrentRuns - _active.Count - Reserved;
                if (free > 0)
                {
                    var max = Math.Min(free, 128);
                    signal.ClaimStarting();
                    try
                    {
                        claimed = await ClaimAsync(max, stoppingToken).ConfigureAwait(false);
                        if (claimed >= max)
                        {
                            signal.ClaimMayHaveLeftWork();
                        }
                    }
                    catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                    {
                        signal.ClaimMayHaveLeftWork();
                        Log.WorkerError(engine.Logger, ex, "claim");
                    }
                }

                if (claimed == 0 || _active.Count >= options.MaxConcurrentRuns)
                {
                    await signal.WaitAsync(options.PollInterval, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            CloseAdmission();

            IsRunning = false;
            await DrainAsync().ConfigureAwait(false);
            await _housekeepingStop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(heartbeat, flush, listen).ConfigureAwait(false);
        }
    }

    /// <summary>Wakes the claim loop on the store's notifications, if it has any (the poll stays the fallback).</summary>
    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        if (engine.Services.GetService(typeof(IBatonStore)) is not IRunNotifications notifications)
        {
            return;
        }

        try
        {
            await notifications.ListenAsync(signal.Notify, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Log.WorkerError(engine.Logger, ex, "run notifications");
        }
    }

    private async Task<int> ClaimAsync(int max, CancellationToken cancellationToken)
    {
        var now = engine.Time.GetUtcNow();
        var leaseExpiresAt = now + engine.Options.LeaseDuration;
        var runs = await engine.Runs.ClaimRunsAsync(
            new ClaimRunsRequest
            {
                Owner = engine.Owner, MaxRuns = max, Now = now, LeaseExpiresAt = leaseExpiresAt,
                // Only what this node can run: with several nodes a run waits for a node that has its workflow.
                Workflows = _workflows ??= [.. registry.Workflows.Select(w => w.Name)],
                // And only the versions its code can run, so a rolling deploy leaves older runs to older nodes.
                WorkflowVersions = _workflowVersions ??= [.. registry.VersionKeys],
            },
            cancellationToken).ConfigureAwait(false);
        foreach (var run in runs)
        {
            if (run.TakenOver)
            {
                engine.Metrics.LeaseTakeovers.Add(1, new KeyValuePair<string, object?>("workflow", run.Workflow));
            }

            if (_active.TryGetValue(run.Id, out var previous))
            {
                // An earlier execution here is still unwinding. Two executions of one run must not overlap. If it was stored
                // suspended and woken at once, only engine code is left to it: this one starts in its slot when it has ended.
                // If it lost its lease, user code may still run and ignore cancellation: waiting for it could hold the run
                // here for good, so the claim is handed back (any node takes it), as it is if that one is ending right now.
                if (previous.LeaseLost || !previous.TrySetSuccessor(run, leaseExpiresAt))
                {
                    await engine.Runs.ReleaseLeaseAsync(new ReleaseLeaseRequest(run.Id, engine.Owner, now), cancellationToken).ConfigureAwait(false);
                }

                continue;
            }

            Start(run, leaseExpiresAt);
        }

        return runs.Count;
    }

    /// <summary>Executes a run leased to this node; a locally created run brings its definition and read input along.</summary>
    private void Start(RunRecord run, DateTimeOffset leaseExpiresAt, WorkflowDefinition? definition = null, RunInput? input = null)
    {
        // Without the caller's execution context: a run started from a request (a local start) must not carry
        // the request's Activity, log scopes or other async-locals (nor its lease timer keep them), and so runs the same
        // as a claimed one.
        using (ExecutionContext.SuppressFlow())
        {
            var active = new ActiveRun(run, engine.Options.MaxErrors, leaseExpiresAt, engine.Time) { Definition = definition, Input = input };
            _active[run.Id] = active;
            engine.Metrics.ActiveRuns.Add(1);
            _tasks[active] = Task.CompletedTask;
            // ExecuteOneAsync yields to the thread pool before anything else, so this returns at once.
            var task = ExecuteOneAsync(active);
            // Not if the execution has already ended and removed its entry.
            _tasks.TryUpdate(active, task, Task.CompletedTask);
        }
    }

    private async Task ExecuteOneAsync(ActiveRun active)
    {
        // The hop to the thread pool that Task.Run made, without its task, delegate and unwrapping promise per run: the
        // state machine itself is queued (to this thread's local queue, which idle threads steal from).
        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        try
        {
            await executor.ExecuteAsync(active).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ExecutionCrashed(engine.Logger, ex, active.RunId);
        }
        finally
        {
            var successor = active.SealSuccessor();
            if (successor is not null)
            {
                // The slot passes to the claim that waited for this execution to end.
                Interlocked.Increment(ref _reserved);
            }

            _active.TryRemove(KeyValuePair.Create(active.RunId, active));
            engine.Metrics.ActiveRuns.Add(-1);
            active.Dispose();
            if (successor is not null)
            {
                _ = StartAdmittedAsync(successor.Run, successor.LeaseExpiresAt);
            }

            signal.SlotFreed(_storeAnnounces);
            ExecutionEnded?.Invoke(active.RunId);
            _tasks.TryRemove(active, out _);
        }
    }

    private async Task DrainAsync()
    {
        var inFlight = _tasks.Values.ToArray();
        if (inFlight.Length == 0)
        {
            return;
        }

        Log.WorkerDraining(engine.Logger, inFlight.Length, engine.Options.DrainTimeout);
        var all = Task.WhenAll(inFlight);
        await Task.WhenAny(all, Task.Delay(engine.Options.DrainTimeout, engine.Time)).ConfigureAwait(false);
        var interrupted = _active.Values.ToArray();
        foreach (var run in interrupted)
        {
            run.Interrupt(leaseLost: false);
        }

        // Interrupted runs write their progress and release their leases; give them a bounded moment.
        await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(10), engine.Time)).ConfigureAwait(false);
        Log.WorkerStopped(engine.Logger, interrupted.Length);
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(engine.Options.HeartbeatInterval, engine.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await RenewAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Renews the leases of every run executing here; stops runs whose lease was lost, cancels those asked to.</summary>
    internal async Task RenewAsync(CancellationToken cancellationToken)
    {
        var ids = _active.Keys.ToArray();
        if (ids.Length == 0)
        {
            return;
        }

        try
        {
            var now = engine.Time.GetUtcNow();
            var expiresAt = now + engine.Options.LeaseDuration;
            var result = await engine.Runs.RenewLeasesAsync(
                new RenewLeasesRequest { Owner = engine.Owner, RunIds = ids, Now = now, LeaseExpiresAt = expiresAt },
                cancellationToken).ConfigureAwait(false);
            var lost = result.Lost.ToHashSet(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                if (!lost.Contains(id) && _active.TryGetValue(id, out var renewed))
                {
                    // Armed from when the answer came (before: from when the renewal was asked, so a renewal that took 5 s
                    // left this node running 5 s past the expiry the store holds, while another node could claim the run).
                    renewed.LeaseRenewed(expiresAt, engine.Time.GetUtcNow());
                }
            }

            foreach (var id in result.Lost)
            {
                if (_active.TryGetValue(id, out var run))
                {
                    run.Interrupt(leaseLost: true);
                }
            }

            foreach (var id in result.CancelRequested)
            {
                CancelLocal(id);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.WorkerError(engine.Logger, ex, "heartbeat");
        }
    }

    private async Task FlushLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(engine.Options.ProgressFlushInterval, engine.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await FlushProgressAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Writes the live progress of every executing run that changed since its last write.</summary>
    internal async Task FlushProgressAsync()
    {
        var writes = new List<Task>();
        foreach (var run in _active.Values)
        {
            if (run.Progress.TakeSnapshot(onlyIfDirty: true) is { } snapshot)
            {
                writes.Add(engine.Runs.UpdateRunAsync(new UpdateRunRequest
                {
                    RunId = run.RunId, Owner = engine.Owner, Now = engine.Time.GetUtcNow(),
                    Phase = snapshot.Phase, Progress = snapshot.Counters, Errors = snapshot.Errors,
                }));
            }
        }

        // Awaited with a catch rather than an OnlyOnFaulted continuation: that continuation is cancelled
        // when the writes succeed, and awaiting it threw OperationCanceledException, which ended the flush loop.
        try
        {
            await Task.WhenAll(writes).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.WorkerError(engine.Logger, ex, "progress flush");
        }
    }

    public override void Dispose()
    {
        // A host disposed without StopAsync: the base cancels the loop, whose finally still cancels this source on its way
        // out; disposed first, that threw ObjectDisposedException, logged as a critical "BackgroundService failed".
        base.Dispose();
        if (ExecuteTask is null or { IsCompleted: true })
        {
            _housekeepingStop.Dispose();
        }
    }
}
