using System.Runtime.ExceptionServices;
using Baton.Compensation;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;

namespace Baton.FanOut;

/// <summary>
/// The items of one fan-out: each runs as a durable step keyed <c>{prefix}/{key}</c>, at most
/// <see cref="ForEachOptions.MaxParallelism"/> at once, as soon as it is added; items completed in an
/// earlier execution return their stored result. Keeps the <c>.done</c> and <c>.deadLettered</c> counters.
/// </summary>
internal sealed class FanOutBatch<TItem, TResult> : IDisposable
{
    private readonly ExecutionState _state;
    private readonly StepRunner _steps;
    private readonly Func<TItem, CancellationToken, Task<TResult>> _work;
    private readonly ForEachOptions _options;
    private readonly Func<TItem, TResult, CancellationToken, Task>? _compensate;
    private readonly CancellationToken _cancellationToken;
    private readonly string _prefix;
    // The call that took the fan-out's key, for the order of its items' compensations (CompensationRunner).
    private readonly long _call;
    private readonly string _doneCounter;
    private readonly string _deadCounter;
    private readonly StepStatus _finalFailure;
    private readonly SemaphoreSlim _gate;
    // Room for items added and not yet ended (running, or waiting for a slot): see WaitForRoomAsync.
    private readonly SemaphoreSlim _room;
    private readonly CancellationTokenSource _stopAll;
    private readonly List<Task<ItemResult<TResult>?>> _tasks = [];
    private int _incomplete;
    // Whether an earlier execution stored an item of this fan-out as failed for good (not cut off): read once, when the
    // first item that is not done is about to run (see SiblingFailedForGoodAsync).
    private Task<bool>? _siblingFailedForGood;
    // Items listed over time only: the items an earlier execution completed, counted before they are listed again.
    private Dictionary<string, StepStatus>? _earlier;

    public FanOutBatch(
        ExecutionState state, StepRunner steps, string prefix, long call, Func<TItem, CancellationToken, Task<TResult>> work,
        ForEachOptions options, Func<TItem, TResult, CancellationToken, Task>? compensate, CancellationToken cancellationToken)
    {
        _state = state;
        _steps = steps;
        _work = work;
        _options = options;
        _compensate = compensate;
        _cancellationToken = cancellationToken;
        _prefix = prefix;
        _call = call;
        _doneCounter = $"{prefix}.done";
        _deadCounter = $"{prefix}.deadLettered";
        _finalFailure = options.OnItemFailure == ItemFailurePolicy.DeadLetter ? StepStatus.DeadLettered : StepStatus.Failed;
        _gate = new SemaphoreSlim(options.MaxParallelism);
        _room = new SemaphoreSlim((int)Math.Min(2L * options.MaxParallelism, int.MaxValue));
        _stopAll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, state.Active.AnyToken);
        state.Active.Progress.Set(_doneCounter, 0);
        state.Active.Progress.Set(_deadCounter, 0);
    }

    /// <summary>Cancelled when the run stops or an item fails the fan-out.</summary>
    public CancellationToken StopToken => _stopAll.Token;

    /// <summary>Items an earlier execution completed that this one has not listed yet (see <see cref="CountEarlierItems"/>).</summary>
    public int EarlierItemsNotListed => _earlier?.Count ?? 0;

    /// <summary>
    /// For items listed over time: counts the items an earlier execution completed (stored <c>{prefix}/...</c> steps that
    /// succeeded or were dead-lettered) at once, instead of as they are listed again. A resumed run's counters read 0
    /// and climbed while its listing waited (the catalog sync's <c>chunks.done</c> read 0 through a retried download).
    /// </summary>
    public void CountEarlierItems()
    {
        var itemPrefix = _prefix + "/";
        foreach (var step in _state.Stored.Values)
        {
            if (step.Kind == StepKind.Step && step.Status is StepStatus.Succeeded or StepStatus.DeadLettered
                && step.Key.StartsWith(itemPrefix, StringComparison.Ordinal))
            {
                _earlier ??= new Dictionary<string, StepStatus>(StringComparer.Ordinal);
                _earlier[step.Key] = step.Status;
                _state.Active.Progress.Increment(CounterOf(step.Status), 1);
            }
        }
    }

    /// <summary>
    /// Once the listing has ended: takes back the count of earlier items it did not list again (or a step of another
    /// name that only looked like an item), so the counters end exact.
    /// </summary>
    public void ForgetEarlierItemsNotListed()
    {
        if (_earlier is null)
        {
            return;
        }

        foreach (var status in _earlier.Values)
        {
            _state.Active.Progress.Increment(CounterOf(status), -1);
        }

        _earlier = null;
    }

    /// <summary>
    /// Waits, before the next item is listed (or taken from a list), until fewer than twice
    /// <see cref="ForEachOptions.MaxParallelism"/> items are added and not ended, and takes room for that item; every
    /// <see cref="Add"/> follows one. A listing is read at most MaxParallelism items ahead of the running ones: before, it
    /// was read to its end at once, every item held in memory waiting for a slot (a whole file's chunks), and a list made
    /// a task waiting for a slot for each of its items. Throws once the fan-out stops (<see cref="StopToken"/>).
    /// </summary>
    public async Task WaitForRoomAsync()
    {
        await _room.WaitAsync(_stopAll.Token).ConfigureAwait(false);
        // Room given back by an item the stop just cancelled can go to this wait before the stop reaches it: list nothing then.
        _stopAll.Token.ThrowIfCancellationRequested();
    }

    /// <summary>Adds an item once <see cref="WaitForRoomAsync"/> has taken room for it; the room is given back when it ends.</summary>
    public void Add(string key, TItem item)
    {
        if (_state.Stored.TryGetValue(key, out var stored) && stored.Status is StepStatus.Succeeded or StepStatus.DeadLettered)
        {
            _room.Release();
            if (_earlier?.Remove(key) != true)
            {
                _state.Active.Progress.Increment(CounterOf(stored.Status), 1);
            }

            _tasks.Add(Task.FromResult<ItemResult<TResult>?>(Completed(key, _tasks.Count, item, stored)));
            return;
        }

        // A failed item goes on to its step even in the replay that collects compensations: one that failed for good throws
        // its failure again, so a workflow that caught the fan-out's failure takes its fallback again and the fallback's
        // compensations are collected (before, the replay stopped here and they never ran); one cut off stops the replay there.
        if (_state.ReplayOnly && stored?.Status != StepStatus.Failed)
        {
            _room.Release();
            Interlocked.Increment(ref _incomplete);
            _tasks.Add(Task.FromResult<ItemResult<TResult>?>(null));
            return;
        }

        _tasks.Add(RunAsync(key, _tasks.Count, item));
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
                if (failed is not null && !_state.Active.AnyToken.IsCancellationRequested && !_cancellationToken.IsCancellationRequested)
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
            _room.Dispose();
            _stopAll.Dispose();
        }
    }

    private async Task<ItemResult<TResult>?> RunAsync(string key, int index, TItem item)
    {
        _state.OutcomeOpened();
        try
        {
            return await RunItemAsync(key, index, item).ConfigureAwait(false);
        }
        finally
        {
            _room.Release();
            _state.OutcomeHanded();
        }
    }

    private async Task<ItemResult<TResult>?> RunItemAsync(string key, int index, TItem item)
    {
        await _gate.WaitAsync(_stopAll.Token).ConfigureAwait(false);
        try
        {
            // A released gate can hand its slot to a waiter whose token was just cancelled: start nothing new then.
            _stopAll.Token.ThrowIfCancellationRequested();
            if (await SiblingFailedForGoodAsync().ConfigureAwait(false) && !await FailedForGoodAsync(key).ConfigureAwait(false))
            {
                // The fan-out's outcome is already stored: that item throws its failure again and stops the fan-out. Before, the
                // items cut off by it ran their work again first, on every resume of a run that had caught the failure.
                throw new OperationCanceledException($"{key} not run: an item of this fan-out failed for good in an earlier execution");
            }

            await _steps.RunAsync(key, StepKind.Step, async ct => _state.Serialize(await _work(item, ct).ConfigureAwait(false)), _options.Step, _finalFailure, _stopAll.Token).ConfigureAwait(false);
            var result = Completed(key, index, item, _state.Stored[key]);
            _state.Active.Progress.Increment(_doneCounter, 1);
            return result;
        }
        catch (StepFailedException failure) when (_options.OnItemFailure == ItemFailurePolicy.DeadLetter)
        {
            _state.Active.Progress.Increment(_deadCounter, 1);
            _state.Active.Progress.AddError(new RunError(_state.Engine.Time.GetUtcNow(), $"{key} dead-lettered: {failure.Message}", key));
            return new ItemResult<TResult>(key, false, default, failure.Message) { ErrorType = failure.ErrorType };
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

    /// <summary>
    /// True when an item of this fan-out is stored failed for good (its last attempt not cut off): a resumed run that caught
    /// the fan-out's failure meets it again. False at once when no item is stored failed (every first execution).
    /// </summary>
    private Task<bool> SiblingFailedForGoodAsync()
    {
        if (_finalFailure != StepStatus.Failed)
        {
            return Task.FromResult(false);
        }

        return _siblingFailedForGood ??= ReadAsync();

        async Task<bool> ReadAsync()
        {
            var itemPrefix = _prefix + "/";
            foreach (var step in _state.Stored.Values.Where(s => s.Kind == StepKind.Step && s.Key.StartsWith(itemPrefix, StringComparison.Ordinal)).ToList())
            {
                if (await FailedForGoodAsync(step.Key).ConfigureAwait(false))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Whether item <paramref name="key"/> is stored failed and its last attempt was not cut off (one read per execution).</summary>
    private async Task<bool> FailedForGoodAsync(string key) =>
        _state.Stored.TryGetValue(key, out var stored) && stored.Status == StepStatus.Failed && !await _state.WasCutOffAsync(key).ConfigureAwait(false);

    private string CounterOf(StepStatus status) => status == StepStatus.Succeeded ? _doneCounter : _deadCounter;

    private ItemResult<TResult> Completed(string key, int index, TItem item, StepRecord stored)
    {
        if (stored.Status == StepStatus.DeadLettered)
        {
            return new ItemResult<TResult>(key, false, default, stored.Error) { ErrorType = stored.ErrorType };
        }

        var value = _state.Deserialize<TResult>(key, stored.Result);
        if (_compensate is not null)
        {
            _state.Compensations.Add(key, _call, index, ct => _compensate(item, value, ct));
        }

        return new ItemResult<TResult>(key, true, value, null);
    }
}
