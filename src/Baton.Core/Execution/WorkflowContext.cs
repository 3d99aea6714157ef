using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Baton.Hosting;
using Baton.Retries;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;
using Baton.Workflows;
using Microsoft.Extensions.Logging;

namespace Baton.Execution;

/// <summary>One execution of one run: replays stored step results and runs the rest durably.</summary>
internal sealed class WorkflowContext : IWorkflowContext
{
    private readonly ActiveRun _active;
    private readonly WorkflowDefinition _definition;
    private readonly EngineServices _engine;
    private readonly ConcurrentDictionary<string, StepRecord> _stored;
    private readonly Dictionary<string, int> _nameCounts = new(StringComparer.Ordinal);
    private readonly List<Compensation> _compensations = [];
    private readonly Lock _lock = new();
    private int _inFlight;

    public WorkflowContext(ActiveRun active, WorkflowDefinition definition, EngineServices engine, IEnumerable<StepRecord> stored, bool replayOnly)
    {
        _active = active;
        _definition = definition;
        _engine = engine;
        _stored = new ConcurrentDictionary<string, StepRecord>(stored.Select(s => KeyValuePair.Create(s.Key, s)), StringComparer.Ordinal);
        ReplayOnly = replayOnly;
    }

    public string RunId => _active.RunId;

    public string WorkflowName => _definition.Name;

    public string? CorrelationId => _active.Run.CorrelationId;

    public int Execution => _active.Run.Executions;

    /// <summary>True when the workflow runs only to collect compensations (a run resumed while compensating).</summary>
    public bool ReplayOnly { get; }

    public IReadOnlyList<Compensation> Compensations
    {
        get
        {
            lock (_lock)
            {
                return [.. _compensations];
            }
        }
    }

    public bool IsCompleted(string key) => _stored.TryGetValue(key, out var step) && step.Status == StepStatus.Succeeded;

    public async Task<T> StepAsync<T>(
        string name,
        Func<CancellationToken, Task<T>> work,
        StepOptions? options = null,
        Func<T, CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var key = NextKey(name);
        var json = await RunStepAsync(key, StepKind.Step, async ct => Serialize(await work(ct).ConfigureAwait(false)), options, StepStatus.Failed, cancellationToken).ConfigureAwait(false);
        var value = Deserialize<T>(json);
        if (compensate is not null)
        {
            AddCompensation(key, ct => compensate(value, ct));
        }

        return value;
    }

    public Task StepAsync(
        string name,
        Func<CancellationToken, Task> work,
        StepOptions? options = null,
        Func<CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return StepAsync<bool>(
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
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var (prefix, checkedOptions) = BeginFanOut(name, keySelector, work, options);
        options = checkedOptions;
        var keys = items.Select(item => $"{prefix}/{keySelector(item)}").ToArray();
        if (keys.Distinct(StringComparer.Ordinal).Count() != keys.Length)
        {
            throw new ArgumentException($"fan-out '{name}' has duplicate item keys", nameof(keySelector));
        }

        var fanOut = new FanOut<TItem, TResult>(this, prefix, work, options, compensate, cancellationToken);
        SetProgress($"{prefix}.total", items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            fanOut.Add(keys[i], items[i]);
        }

        return fanOut.FinishAsync();
    }

    public async Task<IReadOnlyList<ItemResult<TResult>>> ForEachAsync<TItem, TResult>(
        string name,
        IAsyncEnumerable<TItem> items,
        Func<TItem, string> keySelector,
        Func<TItem, CancellationToken, Task<TResult>> work,
        ForEachOptions? options = null,
        Func<TItem, TResult, CancellationToken, Task>? compensate = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var (prefix, checkedOptions) = BeginFanOut(name, keySelector, work, options);
        var fanOut = new FanOut<TItem, TResult>(this, prefix, work, checkedOptions, compensate, cancellationToken);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var item in items.WithCancellation(fanOut.StopToken).ConfigureAwait(false))
            {
                var key = $"{prefix}/{keySelector(item)}";
                if (!keys.Add(key))
                {
                    throw new ArgumentException($"fan-out '{name}' has duplicate item keys ({key})", nameof(keySelector));
                }

                fanOut.Add(key, item);
                SetProgress($"{prefix}.total", keys.Count);
            }
        }
        catch (OperationCanceledException) when (fanOut.StopToken.IsCancellationRequested)
        {
            // An item failed the fan-out, or the run is stopping: finishing reports which. If every item
            // added so far ended well, the list was still cut short, and the cancellation goes up.
            await fanOut.FinishAsync().ConfigureAwait(false);
            throw;
        }
        catch
        {
            // The items cannot be listed to the end: stop the ones started and let them unwind before the error goes up.
            await fanOut.AbandonAsync().ConfigureAwait(false);
            throw;
        }

        return await fanOut.FinishAsync().ConfigureAwait(false);
    }

    /// <summary>Checks a fan-out's arguments and takes its key prefix.</summary>
    private (string Prefix, ForEachOptions Options) BeginFanOut<TItem, TResult>(
        string name, Func<TItem, string> keySelector, Func<TItem, CancellationToken, Task<TResult>> work, ForEachOptions? options)
    {
        ArgumentNullException.ThrowIfNull(keySelector);
        ArgumentNullException.ThrowIfNull(work);
        options ??= new ForEachOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxParallelism, 1);
        return (NextKey(name), options);
    }

    public Task DelayAsync(string name, TimeSpan delay, CancellationToken cancellationToken = default) =>
        TimerAsync(name, now => now + delay, cancellationToken);

    public Task SleepUntilAsync(string name, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        TimerAsync(name, _ => until, cancellationToken);

    public void SetPhase(string phase) => _active.Progress.SetPhase(phase);

    public void IncrementProgress(string counter, long delta = 1) => _active.Progress.Increment(counter, delta);

    public void SetProgress(string counter, long value) => _active.Progress.Set(counter, value);

    public void ReportError(string message, string? step = null) =>
        _active.Progress.AddError(new RunError(_engine.Time.GetUtcNow(), message, step));

    /// <summary>Runs a compensation as a durable step of kind <see cref="StepKind.Compensation"/>.</summary>
    public Task RunCompensationAsync(Compensation compensation, CancellationToken cancellationToken) =>
        RunStepAsync(
            StepKeys.Compensation(compensation.StepKey),
            StepKind.Compensation,
            async ct =>
            {
                await compensation.Action(ct).ConfigureAwait(false);
                return null;
            },
            null,
            StepStatus.Failed,
            cancellationToken,
            _active.InterruptToken);

    private async Task TimerAsync(string name, Func<DateTimeOffset, DateTimeOffset> wakeAtFrom, CancellationToken cancellationToken)
    {
        var key = NextKey(name);
        DateTimeOffset wakeAt;
        if (_stored.TryGetValue(key, out var stored) && stored.Status == StepStatus.Succeeded)
        {
            wakeAt = DateTimeOffset.Parse(JsonSerializer.Deserialize<string>(stored.Result!)!, CultureInfo.InvariantCulture);
        }
        else if (ReplayOnly)
        {
            throw new CompensationReplayStop();
        }
        else
        {
            var now = _engine.Time.GetUtcNow();
            wakeAt = wakeAtFrom(now);
            var result = JsonSerializer.Serialize(wakeAt.ToString("O", CultureInfo.InvariantCulture));
            await EndAttemptAsync(new AttemptEndedRequest
            {
                RunId = RunId, Owner = _engine.Owner, StepKey = key, Kind = StepKind.Timer, Attempt = 1,
                StartedAt = now, EndedAt = now, Outcome = AttemptOutcome.Succeeded, StepStatus = StepStatus.Succeeded, Result = result,
            }).ConfigureAwait(false);
            _stored[key] = new StepRecord { RunId = RunId, Key = key, Kind = StepKind.Timer, Status = StepStatus.Succeeded, Result = result, Attempts = 1, StartedAt = now, CompletedAt = now };
        }

        if (ReplayOnly)
        {
            return;
        }

        var remaining = wakeAt - _engine.Time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        if (remaining >= _engine.Options.SuspendThreshold && Volatile.Read(ref _inFlight) == 0)
        {
            throw new SuspendRunException(wakeAt);
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _active.AnyToken);
        await Task.Delay(remaining, _engine.Time, linked.Token).ConfigureAwait(false);
    }

    /// <summary>Returns the stored result of <paramref name="key"/>, or runs it with retries and stores the result.</summary>
    private async Task<string?> RunStepAsync(
        string key,
        StepKind kind,
        Func<CancellationToken, Task<string?>> work,
        StepOptions? options,
        StepStatus finalFailure,
        CancellationToken cancellationToken,
        CancellationToken? stopToken = null)
    {
        _stored.TryGetValue(key, out var stored);
        if (stored?.Status == StepStatus.Succeeded)
        {
            return stored.Result;
        }

        if (stored?.Status == StepStatus.DeadLettered)
        {
            throw new StepFailedException(key, stored.Error ?? "dead-lettered", stored.ErrorType);
        }

        if (ReplayOnly && kind != StepKind.Compensation)
        {
            throw new CompensationReplayStop();
        }

        var policy = options?.Retry ?? _definition.Options.Retry;
        var timeout = options?.Timeout ?? _definition.Options.StepTimeout;
        var attempt = stored?.Attempts ?? 0;
        using var scope = _engine.Logger.BeginScope(new LogScope(KeyValuePair.Create("Step", (object?)key)));
        using var runStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopToken ?? _active.AnyToken);
        var runToken = runStop.Token;
        Interlocked.Increment(ref _inFlight);
        try
        {
            while (true)
            {
                // No new attempt once the run is cancelled, interrupted or past its deadline.
                runToken.ThrowIfCancellationRequested();
                attempt++;
                var startedAt = _engine.Time.GetUtcNow();
                using var startWrite = new DeferredAttemptStart(
                    this, new AttemptStartedRequest { RunId = RunId, Owner = _engine.Owner, StepKey = key, Kind = kind, Attempt = attempt, StartedAt = startedAt });

                using var attemptSource = CancellationTokenSource.CreateLinkedTokenSource(runToken);
                using var timeoutSource = timeout is { } limit ? new CancellationTokenSource(limit, _engine.Time) : null;
                using var timeoutLink = timeoutSource?.Token.Register(static s => ((CancellationTokenSource)s!).Cancel(), attemptSource);
                Exception? error = null;
                string? result = null;
                try
                {
                    result = await work(attemptSource.Token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    error = ex;
                }

                var endedAt = _engine.Time.GetUtcNow();
                // The end write records the whole attempt; if the start was already sent, it goes first.
                await startWrite.SettleAsync().ConfigureAwait(false);
                var attemptRecord = new AttemptEndedRequest
                {
                    RunId = RunId, Owner = _engine.Owner, StepKey = key, Kind = kind, Attempt = attempt,
                    StartedAt = startedAt, EndedAt = endedAt, Outcome = AttemptOutcome.Succeeded,
                };
                if (error is null)
                {
                    await EndAttemptAsync(attemptRecord with { StepStatus = StepStatus.Succeeded, Result = result }).ConfigureAwait(false);
                    _engine.Metrics.StepDuration.Record((endedAt - startedAt).TotalSeconds, new("workflow", WorkflowName), new("outcome", "succeeded"));
                    _stored[key] = new StepRecord { RunId = RunId, Key = key, Kind = kind, Status = StepStatus.Succeeded, Result = result, Attempts = attempt, StartedAt = stored?.StartedAt ?? startedAt, CompletedAt = endedAt };
                    return result;
                }

                if (runToken.IsCancellationRequested)
                {
                    var outcome = _active.Interrupted ? AttemptOutcome.Interrupted : AttemptOutcome.Cancelled;
                    Observe(_engine.Steps.RecordAttemptEndedAsync(attemptRecord with { Outcome = outcome, ErrorType = error.GetType().FullName, ErrorMessage = error.Message }, CancellationToken.None));
                    if (error is OperationCanceledException)
                    {
                        ExceptionDispatchInfo.Throw(error);
                    }

                    throw new OperationCanceledException($"step '{key}' stopped: {error.Message}", error, runToken);
                }

                var timedOut = timeoutSource?.IsCancellationRequested == true;
                if (timedOut)
                {
                    error = new StepTimeoutException(key, timeout!.Value);
                }

                var failed = attemptRecord with
                {
                    Outcome = timedOut ? AttemptOutcome.TimedOut : AttemptOutcome.Failed,
                    ErrorType = error.GetType().FullName,
                    ErrorMessage = Truncate(error.Message),
                };
                _engine.Metrics.StepDuration.Record((endedAt - startedAt).TotalSeconds, new("workflow", WorkflowName), new("outcome", "failed"));
                var retryAt = policy.NextRetryAt(endedAt, attempt, error, _engine.Jitter.Next());
                if (retryAt is { } at)
                {
                    Observe(_engine.Steps.RecordAttemptEndedAsync(failed, CancellationToken.None));
                    _engine.Metrics.Retries.Add(1, new KeyValuePair<string, object?>("workflow", WorkflowName));
                    Log.StepRetrying(_engine.Logger, key, attempt, at - endedAt, error.Message);
                    await Task.Delay(at - endedAt, _engine.Time, runToken).ConfigureAwait(false);
                    continue;
                }

                await EndAttemptAsync(failed with { StepStatus = finalFailure }).ConfigureAwait(false);
                _stored[key] = new StepRecord
                {
                    RunId = RunId, Key = key, Kind = kind, Status = finalFailure, Error = failed.ErrorMessage, ErrorType = failed.ErrorType,
                    Attempts = attempt, StartedAt = stored?.StartedAt ?? startedAt, CompletedAt = endedAt,
                };
                Log.StepFailed(_engine.Logger, key, attempt, error.Message);
                throw new StepFailedException(key, error.Message, error.GetType().FullName, error);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private string NextKey(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("a step needs a name", nameof(name));
        }

        lock (_lock)
        {
            var count = _nameCounts.GetValueOrDefault(name) + 1;
            _nameCounts[name] = count;
            return count == 1 ? name : $"{name}#{count}";
        }
    }

    private void AddCompensation(string key, Func<CancellationToken, Task> action)
    {
        lock (_lock)
        {
            _compensations.Add(new Compensation(key, action));
        }
    }

    /// <summary>
    /// Stores an attempt's end with the step's outcome. When the write is refused (lease lost) or fails (store
    /// unreachable), this execution stops and leaves the run to whichever node holds the lease next: the step's
    /// outcome is not stored, so that node runs the step again (at least once), and this node never learns whether
    /// it still owns the run, so it must not go on.
    /// </summary>
    private async Task EndAttemptAsync(AttemptEndedRequest request)
    {
        bool written;
        try
        {
            written = await _engine.Steps.RecordAttemptEndedAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.StoreWriteFailed(_engine.Logger, RunId, ex.Message);
            written = false;
        }

        ThrowIfLeaseLost(written);
    }

    private void ThrowIfLeaseLost(bool written)
    {
        if (!written)
        {
            _active.Interrupt(leaseLost: true);
            throw new LeaseLostException(RunId);
        }
    }

    /// <summary>
    /// The write of an attempt's start, sent only if the attempt is still running after
    /// <see cref="BatonOptions.AttemptStartWriteDelay"/>. The end write upserts the attempt and step rows, so
    /// a short attempt costs one write instead of two.
    /// </summary>
    private sealed class DeferredAttemptStart : IDisposable
    {
        private const int Waiting = 0, Sent = 1, Dropped = 2;
        private readonly WorkflowContext _context;
        private readonly AttemptStartedRequest _request;
        private readonly ITimer? _timer;
        private readonly TaskCompletionSource<Task> _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _state;

        public DeferredAttemptStart(WorkflowContext context, AttemptStartedRequest request)
        {
            _context = context;
            _request = request;
            var delay = context._engine.Options.AttemptStartWriteDelay;
            if (delay <= TimeSpan.Zero)
            {
                Send();
            }
            else
            {
                _timer = context._engine.Time.CreateTimer(static s => ((DeferredAttemptStart)s!).Send(), this, delay, Timeout.InfiniteTimeSpan);
            }
        }

        /// <summary>At the attempt's end: drops the start write if it was not sent, else waits until it is stored.</summary>
        public async Task SettleAsync()
        {
            if (Interlocked.CompareExchange(ref _state, Dropped, Waiting) == Waiting)
            {
                return;
            }

            var write = await _sent.Task.ConfigureAwait(false);
            try
            {
                await write.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Logged by Observe; the end write, an upsert, records the attempt anyway.
            }
        }

        public void Dispose()
        {
            _timer?.Dispose();
            Interlocked.CompareExchange(ref _state, Dropped, Waiting);
        }

        private void Send()
        {
            if (Interlocked.CompareExchange(ref _state, Sent, Waiting) != Waiting)
            {
                return;
            }

            var write = _context._engine.Steps.RecordAttemptStartedAsync(_request, CancellationToken.None);
            _context.Observe(write);
            _sent.TrySetResult(write);
        }
    }

    private void Observe(Task<bool> write) =>
        write.ContinueWith(
            static (t, state) =>
            {
                var (logger, runId) = ((ILogger, string))state!;
                Log.StoreWriteFailed(logger, runId, t.Exception!.GetBaseException().Message);
            },
            (_engine.Logger, RunId),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    private string Serialize<T>(T value) => JsonSerializer.Serialize(value, _engine.Json);

    private T Deserialize<T>(string? json) => json is null ? default! : JsonSerializer.Deserialize<T>(json, _engine.Json)!;

    internal static string Truncate(string message) => message.Length <= 2000 ? message : message[..2000];

    /// <summary>
    /// The items of one fan-out: each runs as a durable step keyed <c>{prefix}/{key}</c>, at most
    /// <see cref="ForEachOptions.MaxParallelism"/> at once, as soon as it is added; items completed in an
    /// earlier execution return their stored result. Keeps the <c>.done</c> and <c>.deadLettered</c> counters.
    /// </summary>
    private sealed class FanOut<TItem, TResult> : IDisposable
    {
        private readonly WorkflowContext _context;
        private readonly Func<TItem, CancellationToken, Task<TResult>> _work;
        private readonly ForEachOptions _options;
        private readonly Func<TItem, TResult, CancellationToken, Task>? _compensate;
        private readonly CancellationToken _cancellationToken;
        private readonly string _doneCounter;
        private readonly string _deadCounter;
        private readonly StepStatus _finalFailure;
        private readonly SemaphoreSlim _gate;
        private readonly CancellationTokenSource _stopAll;
        private readonly List<Task<ItemResult<TResult>?>> _tasks = [];
        private int _incomplete;

        public FanOut(WorkflowContext context, string prefix, Func<TItem, CancellationToken, Task<TResult>> work, ForEachOptions options, Func<TItem, TResult, CancellationToken, Task>? compensate, CancellationToken cancellationToken)
        {
            _context = context;
            _work = work;
            _options = options;
            _compensate = compensate;
            _cancellationToken = cancellationToken;
            _doneCounter = $"{prefix}.done";
            _deadCounter = $"{prefix}.deadLettered";
            _finalFailure = options.OnItemFailure == ItemFailurePolicy.DeadLetter ? StepStatus.DeadLettered : StepStatus.Failed;
            _gate = new SemaphoreSlim(options.MaxParallelism);
            _stopAll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context._active.AnyToken);
            context.SetProgress(_doneCounter, 0);
            context.SetProgress(_deadCounter, 0);
        }

        /// <summary>Cancelled when the run stops or an item fails the fan-out.</summary>
        public CancellationToken StopToken => _stopAll.Token;

        public void Add(string key, TItem item)
        {
            if (_context._stored.TryGetValue(key, out var stored) && stored.Status is StepStatus.Succeeded or StepStatus.DeadLettered)
            {
                _context.IncrementProgress(stored.Status == StepStatus.Succeeded ? _doneCounter : _deadCounter);
                _tasks.Add(Task.FromResult<ItemResult<TResult>?>(Completed(key, item, stored)));
                return;
            }

            if (_context.ReplayOnly)
            {
                Interlocked.Increment(ref _incomplete);
                _tasks.Add(Task.FromResult<ItemResult<TResult>?>(null));
                return;
            }

            _tasks.Add(RunAsync(key, item));
        }

        public async Task<IReadOnlyList<ItemResult<TResult>>> FinishAsync()
        {
            try
            {
                var all = Task.WhenAll(_tasks);
                try
                {
                    await all.ConfigureAwait(false);
                }
                catch
                {
                    var failed = _tasks.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions).OfType<StepFailedException>().FirstOrDefault();
                    if (failed is not null && !_context._active.AnyToken.IsCancellationRequested && !_cancellationToken.IsCancellationRequested)
                    {
                        ExceptionDispatchInfo.Throw(failed);
                    }

                    throw;
                }

                if (_incomplete > 0)
                {
                    throw new CompensationReplayStop();
                }

                return [.. all.Result.Select(r => r!)];
            }
            finally
            {
                Dispose();
            }
        }

        /// <summary>Cancels the items still running and waits for them to end, ignoring their outcome.</summary>
        public async Task AbandonAsync()
        {
            try
            {
                await _stopAll.CancelAsync().ConfigureAwait(false);
                await Task.WhenAll(_tasks).ConfigureAwait(false);
            }
            catch
            {
                // Their outcome is not the error that ends the fan-out.
            }
            finally
            {
                Dispose();
            }
        }

        public void Dispose()
        {
            // Only once every item has ended: a pending wait on the gate holds the semaphore.
            if (_tasks.All(t => t.IsCompleted))
            {
                _gate.Dispose();
                _stopAll.Dispose();
            }
        }

        private async Task<ItemResult<TResult>?> RunAsync(string key, TItem item)
        {
            await _gate.WaitAsync(_stopAll.Token).ConfigureAwait(false);
            try
            {
                // A released gate can hand its slot to a waiter whose token was just cancelled: start nothing new then.
                _stopAll.Token.ThrowIfCancellationRequested();
                await _context.RunStepAsync(key, StepKind.Step, async ct => _context.Serialize(await _work(item, ct).ConfigureAwait(false)), _options.Step, _finalFailure, _stopAll.Token).ConfigureAwait(false);
                var result = Completed(key, item, _context._stored[key]);
                _context.IncrementProgress(_doneCounter);
                return result;
            }
            catch (StepFailedException failure) when (_options.OnItemFailure == ItemFailurePolicy.DeadLetter)
            {
                _context.IncrementProgress(_deadCounter);
                _context.ReportError($"{key} dead-lettered: {failure.Message}", key);
                return new ItemResult<TResult>(key, false, default, failure.Message);
            }
            catch (StepFailedException)
            {
                await _stopAll.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                _gate.Release();
            }
        }

        private ItemResult<TResult> Completed(string key, TItem item, StepRecord stored)
        {
            if (stored.Status == StepStatus.DeadLettered)
            {
                return new ItemResult<TResult>(key, false, default, stored.Error);
            }

            var value = _context.Deserialize<TResult>(stored.Result);
            if (_compensate is not null)
            {
                _context.AddCompensation(key, ct => _compensate(item, value, ct));
            }

            return new ItemResult<TResult>(key, true, value, null);
        }
    }
}
