using Baton.Children;
using Baton.Compensation;
using Baton.Events;
using Baton.FanOut;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;
using Baton.Timers;
using Baton.Versioning;
using Baton.Workers;

namespace Baton.Workflows;

/// <summary>
/// One execution of one run as the workflow sees it: a facade over the features of the execution (steps, fan-out,
/// timers, events, compensation), which share one <see cref="ExecutionState"/>.
/// </summary>
internal sealed class WorkflowContext : IWorkflowContext
{
    private readonly ExecutionState _state;
    private readonly StepRunner _steps;
    // Made on first use: most runs use steps only, and a run pays per execution for what it allocates here.
    private ForEachRunner? _forEach;
    private DurableTimers? _timers;
    private PatchMarkers? _patches;
    private EventWaits? _events;
    private ChildRuns? _children;
    private CompensationRunner? _compensation;

    public WorkflowContext(ActiveRun active, WorkflowDefinition definition, EngineServices engine, IEnumerable<StepRecord> stored, bool replayOnly)
    {
        _state = new ExecutionState(active, definition, engine, stored, replayOnly);
        _steps = new StepRunner(_state);
    }

    public string RunId => _state.RunId;

    public string WorkflowName => _state.Definition.Name;

    public string? CorrelationId => _state.Active.Run.CorrelationId;

    public int Execution => _state.Active.Run.Executions;

    /// <summary>True when the workflow runs only to collect compensations (a run resumed while compensating).</summary>
    public bool ReplayOnly => _state.ReplayOnly;

    /// <summary>The compensations registered so far, in the order their steps completed.</summary>
    public IReadOnlyList<PendingCompensation> Compensations => _state.CompensationsSoFar();

    /// <inheritdoc cref="ExecutionState.OutcomesSettledAsync"/>
    public Task OutcomesSettledAsync() => _state.OutcomesSettledAsync();

    /// <summary>Runs the compensations when the run ends badly.</summary>
    public CompensationRunner Compensation => _compensation ??= new CompensationRunner(_state, _steps);

    private ForEachRunner ForEach => _forEach ??= new ForEachRunner(_state, _steps);

    private DurableTimers Timers => _timers ??= new DurableTimers(_state);

    private PatchMarkers Patches => _patches ??= new PatchMarkers(_state);

    private EventWaits Events => _events ??= new EventWaits(_state);

    private ChildRuns Children => _children ??= new ChildRuns(_state);

    public Task<T> StepAsync<T>(
        string name,
        Func<CancellationToken, Task<T>> work,
        StepOptions? options = null,
        Func<T, CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default) =>
        _steps.StepAsync(name, work, options, compensate, cancellationToken);

    public Task StepAsync(
        string name,
        Func<CancellationToken, Task> work,
        StepOptions? options = null,
        Func<CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _steps.StepAsync<bool>(
            name,
            async ct =>
            {
                await work(ct).ConfigureAwait(false);
                return true;
            },
            options,
            compensate is null ? null : (_, ct) => compensate(ct),
            cancellationToken);
    }

    public Task<IReadOnlyList<ItemResult<TResult>>> ForEachAsync<TItem, TResult>(
        string name,
        IReadOnlyList<TItem> items,
        Func<TItem, string> keySelector,
        Func<TItem, CancellationToken, Task<TResult>> work,
        ForEachOptions? options = null,
        Func<TItem, TResult, CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default) =>
        AfterFlush(() => ForEach.ForEachAsync(name, items, keySelector, work, options, compensate, cancellationToken));

    public Task<IReadOnlyList<ItemResult<TResult>>> ForEachAsync<TItem, TResult>(
        string name,
        IAsyncEnumerable<TItem> items,
        Func<TItem, string> keySelector,
        Func<TItem, CancellationToken, Task<TResult>> work,
        ForEachOptions? options = null,
        Func<TItem, TResult, CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default) =>
        AfterFlush(() => ForEach.ForEachAsync(name, items, keySelector, work, options, compensate, cancellationToken));

    public Task<bool> IsPatchedAsync(string changeId, CancellationToken cancellationToken = default) =>
        AfterFlush(() => Patches.IsPatchedAsync(changeId, cancellationToken));

    public Task DelayAsync(string name, TimeSpan delay, CancellationToken cancellationToken = default) =>
        AfterFlush(() => Timers.WaitAsync(name, delay, default, cancellationToken), isWait: true);

    public Task SleepUntilAsync(string name, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        AfterFlush(() => Timers.WaitAsync(name, null, until, cancellationToken), isWait: true);

    public Task<T> WaitForEventAsync<T>(string name, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        AfterFlush(() => Events.WaitAsync<T>(name, timeout, cancellationToken), isWait: true);

    public Task<TOutput> RunChildAsync<TOutput>(string workflowName, object? input, ChildRunOptions? options = null, CancellationToken cancellationToken = default) =>
        AfterFlush(() => Children.RunAsync<TOutput>(workflowName, input, options, cancellationToken), isWait: true);

    public Task<TOutput> RunChildAsync<TInput, TOutput>(string workflowName, TInput input, ChildRunOptions? options = null, CancellationToken cancellationToken = default) =>
        AfterFlush(() => Children.RunAsync<TInput, TOutput>(workflowName, input, options, cancellationToken), isWait: true);

    public async Task<IReadOnlyList<TOutput>> RunChildrenAsync<TInput, TOutput>(
        string workflowName, IEnumerable<TInput> inputs, ChildRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var all = inputs.ToList();
        // Every input checked before any child starts: one that does not fit fails the run with nothing left running.
        Children.CheckAll(workflowName, all);
        var calls = all.Select(input => RunChildAsync<TInput, TOutput>(workflowName, input, options, cancellationToken)).ToList();
        try
        {
            return await Task.WhenAll(calls).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Anything but a child's failure first: a suspension (children still run: the run waits for them all), the run's
            // cancellation, a lost lease, a child that could not start.
            var errors = calls.Where(c => c.IsFaulted).Select(c => c.Exception!.InnerException!).ToList();
            if (errors.FirstOrDefault(e => e is not ChildRunFailedException) is { } other)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(other);
            }

            if (calls.FirstOrDefault(c => c.IsCanceled) is { } cancelled)
            {
                await cancelled.ConfigureAwait(false);
            }

            var failed = errors.Cast<ChildRunFailedException>().ToList();
            throw failed.Count == 1 ? failed[0] : failed[0].With([.. failed.Skip(1).Select(f => f.ChildRunId)]);
        }
    }

    /// <summary>For the run's next write, which stores the held step end with it (see <see cref="ExecutionState.TryHold"/>).</summary>
    internal ValueTask<AttemptEndedRequest?> TakeHeldStepEndAsync() => _state.TakeHeldAsync();

    /// <summary>When the suspended run wakes and for which events (see <see cref="ExecutionState.Suspension"/>).</summary>
    internal async Task<(DateTimeOffset WakeAt, IReadOnlyList<string> EventNames)> SuspensionAsync(Timers.SuspendRunException thrown)
    {
        // Other event waits of the execution may still be taking an event: their outcome decides when the run wakes.
        await _state.WaitsSettledAsync().ConfigureAwait(false);
        return _state.Suspension(thrown);
    }

    public void SetPhase(string phase) => _state.Active.Progress.SetPhase(phase);

    public void IncrementProgress(string counter, long delta = 1) => _state.Active.Progress.Increment(counter, delta);

    public void SetProgress(string counter, long value) => _state.Active.Progress.Set(counter, value);

    public void ReportError(string message, string? step = null) =>
        _state.Active.Progress.AddError(new RunError(_state.Engine.Time.GetUtcNow(), message, step));

    // Anything but a plain step (a wait, a suspension, a child, a fan-out, a marker) starts once the step end held by
    // this execution is stored: the durability rule of ExecutionState.TryHold.
    private Task AfterFlush(Func<Task> next, bool isWait = false) =>
        AfterFlush(async () => { await next().ConfigureAwait(false); return true; }, isWait);

    /// <summary>
    /// Runs <paramref name="next"/> once the held step end is stored. A wait (<paramref name="isWait"/>: an event, child or
    /// timer) counts as at work from this call, not only once it starts: a sibling that suspends the run meanwhile waits for
    /// it to start and name its event and wake-up time (<see cref="ExecutionState.Suspension"/>). Before, a run suspended in
    /// that window (one store write) without the wait's event name, and since events wake only the runs that wait for them,
    /// that event no longer woke it.
    /// </summary>
    private Task<T> AfterFlush<T>(Func<Task<T>> next, bool isWait = false)
    {
        var flush = _state.FlushHeldAsync();
        if (flush.IsCompletedSuccessfully)
        {
            return next();
        }

        if (isWait)
        {
            _state.WaitAtWork();
        }

        return ThenAsync(flush, next, isWait ? _state : null);

        static async Task<T> ThenAsync(Task flush, Func<Task<T>> next, ExecutionState? atWork)
        {
            Task<T> started;
            try
            {
                await flush.ConfigureAwait(false);
                // Runs synchronously up to the wait's own WaitAtWork or suspension, so this call's count is given back after it.
                started = next();
            }
            finally
            {
                atWork?.WaitAtRest(took: false);
            }

            return await started.ConfigureAwait(false);
        }
    }
}
