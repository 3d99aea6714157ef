using System.Collections.Concurrent;
using System.Text.Json;
using Baton.Compensation;
using Baton.Runs;
using Baton.Storage;
using Baton.Timers;
using Baton.Workers;
using Baton.Workflows;
using Microsoft.Extensions.Logging;

namespace Baton.Steps;

/// <summary>
/// What one execution of a run shares between its features (steps, fan-out, timers, compensation): the stored
/// step results, the step name counts, the steps in flight and the compensations registered so far. One per
/// execution, so a step allocates nothing for it.
/// </summary>
internal sealed class ExecutionState
{
    // The count of the first step name is kept in two fields and the map made for a second name: a run of one step
    // name (most runs) allocates no map, entries and buckets.
    private string? _firstName;
    private int _firstCount;
    private long _calls;
    private int _open;
    private HashSet<string>? _cutOff;
    private TaskCompletionSource? _outcomesSettled;
    private Dictionary<string, int>? _nameCounts;
    // Fan-out item keys ({name}/{key}) and the keys of steps and timers whose name holds '/', the one way the two can be the
    // same key: made only when a run has them.
    private HashSet<string>? _itemKeys;
    private HashSet<string>? _slashKeys;
    // The keys of the fan-outs this execution reached: their stored items count as reached with them (ReachedWithin).
    private HashSet<string>? _fanOutKeys;
    private readonly Lock _lock = new();
    private AttemptEndedRequest? _held;
    private Task _flushing = Task.CompletedTask;
    private CompensationList? _compensations;
    private int _inFlight;
    private DateTimeOffset? _earliestWake;
    private List<string>? _suspendedOn;
    private int _waitsAtWork;
    private TaskCompletionSource? _waitsSettled;
    private bool _tookAfterSuspend;
    private List<(string? EventName, DateTimeOffset WakeAt)>? _resting;

    public ExecutionState(ActiveRun active, WorkflowDefinition definition, EngineServices engine, IEnumerable<StepRecord> stored, bool replayOnly)
    {
        Active = active;
        Definition = definition;
        Engine = engine;
        // Sized for what is stored (the default 31 buckets were 3.5 % of a single-step run's allocations); grows as steps end.
        Stored = new ConcurrentDictionary<string, StepRecord>(Environment.ProcessorCount, stored is ICollection<StepRecord> { Count: > 4 } c ? c.Count : 4, StringComparer.Ordinal);
        foreach (var step in stored)
        {
            Stored[step.Key] = step;
        }

        ReplayOnly = replayOnly;
    }

    public ActiveRun Active { get; }

    public WorkflowDefinition Definition { get; }

    public EngineServices Engine { get; }

    /// <summary>The step rows of this run by key: read at the start of the execution, then kept as steps end.</summary>
    public ConcurrentDictionary<string, StepRecord> Stored { get; }

    /// <summary>True when the workflow runs only to collect compensations (a run resumed while compensating).</summary>
    public bool ReplayOnly { get; }

    /// <summary>The compensations registered so far; made on the first registration, as most runs have none.</summary>
    public CompensationList Compensations => _compensations ?? LazyInitializer.EnsureInitialized(ref _compensations);

    /// <summary>A copy of the compensations registered so far, in the order their steps completed.</summary>
    public IReadOnlyList<PendingCompensation> CompensationsSoFar() => _compensations?.Snapshot() ?? [];

    public string RunId => Active.RunId;

    /// <summary>Steps running now; a timer suspends the run only when none is.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public void StepStarted() => Interlocked.Increment(ref _inFlight);

    /// <summary>
    /// Whether stored step <paramref name="key"/> (failed) was cut off by a cancel rather than failing for good: its last
    /// attempt ended cancelled. The run's attempts are read once per execution, and only when a replay reaches a failed step.
    /// </summary>
    public async Task<bool> WasCutOffAsync(string key)
    {
        var cutOff = _cutOff;
        if (cutOff is null)
        {
            var attempts = await StoreAsync(() => Engine.Steps.GetAttemptsAsync(RunId)).ConfigureAwait(false);
            cutOff = attempts.GroupBy(a => a.StepKey, StringComparer.Ordinal)
                .Where(step => step.MaxBy(a => a.Attempt)!.Outcome == AttemptOutcome.Cancelled)
                .Select(step => step.Key)
                .ToHashSet(StringComparer.Ordinal);
            _cutOff = cutOff;
        }

        return cutOff.Contains(key);
    }

    /// <summary>A step or fan-out item is called whose outcome the workflow has not been handed yet (its compensation not registered).</summary>
    public void OutcomeOpened()
    {
        lock (_lock)
        {
            _open++;
        }
    }

    /// <summary>The outcome of a call counted by <see cref="OutcomeOpened"/> is handed over (its compensation registered, if any).</summary>
    public void OutcomeHanded()
    {
        TaskCompletionSource? settled = null;
        lock (_lock)
        {
            if (--_open == 0)
            {
                (settled, _outcomesSettled) = (_outcomesSettled, null);
            }
        }

        settled?.TrySetResult();
    }

    /// <summary>
    /// Completes once no step or fan-out item of this execution is still running, each with its compensation registered:
    /// a run that ends badly stops them (<see cref="ActiveRun.StopWork"/>) and waits for this before it takes its
    /// compensations (before: one that completed after the run had failed was never compensated).
    /// </summary>
    public Task OutcomesSettledAsync()
    {
        lock (_lock)
        {
            if (_open == 0)
            {
                return Task.CompletedTask;
            }

            _outcomesSettled ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _outcomesSettled.Task;
        }
    }

    public void StepEnded() => Interlocked.Decrement(ref _inFlight);

    /// <summary>
    /// <see cref="NextKey(string)"/> for a name the workflow chose (a step, timer or fan-out): one that begins like a key the
    /// engine gives its own steps is refused.
    /// </summary>
    public string NextUserKey(string name) => NextUserKey(name, out _);

    /// <inheritdoc cref="NextUserKey(string)"/>
    /// <param name="name">The step's name.</param>
    /// <param name="call">Which call of this execution took the key (1, 2, ...): the same on every replay of the run's code.</param>
    public string NextUserKey(string name, out long call)
    {
        if (name is not null && StepKeys.ReservedNameProblem(name) is { } reserved)
        {
            throw new ArgumentException(reserved, nameof(name));
        }

        return NextKey(name!, out call);
    }

    /// <summary>
    /// Notes the key of a step or timer the workflow named: one that a fan-out item of this execution already has is refused.
    /// A step named <c>page/1</c> and item <c>1</c> of the fan-out <c>page</c> were one stored step, so the second of them
    /// returned the first's result without running.
    /// </summary>
    public void TakeStepKey(string key)
    {
        if (!key.Contains('/', StringComparison.Ordinal))
        {
            return;
        }

        lock (_lock)
        {
            if (_itemKeys?.Contains(key) == true)
            {
                throw new ArgumentException($"a step or timer keyed '{key}' is an item of a fan-out of this run (a fan-out's items are keyed {{name}}/{{key}}); give it another name");
            }

            (_slashKeys ??= new HashSet<string>(StringComparer.Ordinal)).Add(key);
        }
    }

    /// <summary>Notes the key of a fan-out this execution reached (its items are keyed <c>{key}/{item}</c>).</summary>
    public void TakeFanOutKey(string key)
    {
        lock (_lock)
        {
            (_fanOutKeys ??= new HashSet<string>(StringComparer.Ordinal)).Add(key);
        }
    }

    /// <summary>Notes the key of a fan-out item: one that a step, timer or item of another fan-out of this execution has is refused.</summary>
    public void TakeItemKey(string fanOut, string key)
    {
        if (key.Length > RunLimits.MaxStepKeyLength)
        {
            // As for a step name (see NextKey): PostgreSQL could not index it.
            throw new ArgumentException(
                $"fan-out '{fanOut}' has an item key of {key.Length} characters with its name; a key is at most {RunLimits.MaxStepKeyLength} " +
                $"('{key[..40]}...'): key the items by something shorter, such as an id or a hash");
        }

        lock (_lock)
        {
            if (_slashKeys?.Contains(key) == true || !(_itemKeys ??= new HashSet<string>(StringComparer.Ordinal)).Add(key))
            {
                throw new ArgumentException($"fan-out '{fanOut}' has an item keyed '{key}', which a step, timer or other fan-out item of this run already is; give it another name or key");
            }
        }
    }

    /// <summary>
    /// Why <paramref name="name"/> cannot make a step key, in words naming what it is (<paramref name="noun"/>: "a step name",
    /// "a patch id"), or null when it can. <paramref name="maxLength"/> is what is left of a key's length for it;
    /// <paramref name="repeats"/> says how repeated calls are keyed (why '#' is refused).
    /// </summary>
    public static string? NameProblem(string name, string noun, int maxLength, string repeats)
    {
        if (StoredText.HasNul(name))
        {
            // Refused on every store alike: PostgreSQL text cannot hold U+0000.
            return noun + " cannot hold the character U+0000";
        }

        if (StoredText.HasHalfSurrogatePair(name))
        {
            // Refused on every store alike: PostgreSQL's driver cannot encode it and threw at the step's write.
            return noun + " cannot hold " + StoredText.HalfSurrogatePair;
        }

        if (name.Length > maxLength)
        {
            // Refused on every store alike: PostgreSQL could not index it, so every write of the step failed as a store
            // error and the run was taken up again at each lease expiry, for ever.
            return $"{noun} is at most {maxLength} characters; '{name[..40]}...' has {name.Length}";
        }

        // The n-th call of a name is keyed name#n: an explicit "charge#2" took the second "charge" call's stored
        // result, and that call's body never ran.
        return name.Contains('#', StringComparison.Ordinal) ? $"{noun} cannot hold '#' ('{name}'): {repeats}" : null;
    }

    /// <summary>The key of the next step named <paramref name="name"/>: the name, then <c>name#2</c>, <c>name#3</c>...</summary>
    public string NextKey(string name) => NextKey(name, out _);

    private string NextKey(string name, out long call)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("a step needs a name", nameof(name));
        }

        if (NameProblem(name, "a step name", RunLimits.MaxStepKeyLength, "the repeated calls of one name are keyed name#2, name#3, ...") is { } problem)
        {
            throw new ArgumentException(problem, nameof(name));
        }

        lock (_lock)
        {
            call = ++_calls;
            int count;
            if (_firstName is null || _firstName == name)
            {
                _firstName = name;
                count = ++_firstCount;
            }
            else
            {
                _nameCounts ??= new Dictionary<string, int>(StringComparer.Ordinal);
                count = _nameCounts.GetValueOrDefault(name) + 1;
                _nameCounts[name] = count;
            }

            return count == 1 ? name : $"{name}#{count}";
        }
    }

    /// <summary>
    /// The exception that suspends the run until <paramref name="wakeAt"/> (or an event named <paramref name="eventName"/>),
    /// noted here first: when several waits of one execution suspend together (<c>Task.WhenAll</c>, <c>Task.WhenAny</c>
    /// over two event waits), the run wakes at the earliest of them and for an event of any of their names
    /// (<see cref="Suspension"/>), not only for the one the workflow's <c>await</c> happens to throw. Before, a wait with a
    /// timeout beside one without lost its timeout, and an approve-or-reject run was woken for "approved" only.
    /// </summary>
    public SuspendRunException Suspend(DateTimeOffset wakeAt, string? eventName = null)
    {
        lock (_lock)
        {
            _earliestWake = _earliestWake is { } earliest && earliest <= wakeAt ? earliest : wakeAt;
            _suspendedOn ??= [];
            if (eventName is not null)
            {
                _suspendedOn.Add(eventName);
            }
        }

        return new SuspendRunException(wakeAt, eventName);
    }

    /// <summary>An event or child wait is at work (its store calls), not sleeping in memory: a suspension waits for it to settle.</summary>
    public void WaitAtWork()
    {
        lock (_lock)
        {
            _waitsAtWork++;
        }
    }

    /// <summary>
    /// The wait stopped working: it returns or throws what it <paramref name="took"/> (an event, a child's end), throws, or
    /// sleeps in memory. What is taken once a wait of this execution has suspended may be what the workflow never sees
    /// (<c>Task.WhenAny</c> took the suspended wait): the run then wakes at once instead of sleeping with it taken.
    /// </summary>
    public void WaitAtRest(bool took)
    {
        lock (_lock)
        {
            _waitsAtWork--;
            _tookAfterSuspend |= took && _suspendedOn is not null;
            if (_waitsAtWork == 0)
            {
                // Made again by the next WaitsSettledAsync that finds a wait at work, so a later one does not pass at once.
                _waitsSettled?.TrySetResult();
                _waitsSettled = null;
            }
        }
    }

    /// <summary>A wait at work sleeps <paramref name="delay"/> in memory, not at work meanwhile (a suspension does not wait for it).</summary>
    public async Task RestAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        WaitAtRest(took: false);
        try
        {
            await Task.Delay(delay, Engine.Time, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            WaitAtWork();
        }
    }

    /// <summary>
    /// A child or event wait, or a durable timer, that sleeps in memory (steps of the run were in flight) until it is
    /// disposed: if the run suspends meanwhile (a durable retry wait of such a step), it wakes for <paramref name="eventName"/>
    /// (none for a timer) and at <paramref name="wakeAt"/> at the latest, as if that wait had suspended too. Before (review
    /// 54), such a suspension named neither, so an event (or a child's end) stored while the run was still leased left it
    /// asleep until the step's backoff (an hour, say), the event stored and the wait's timeout (or 5-minute recheck) not
    /// applied; a timer was not counted until review 57, so a 10-minute limit beside such a step fired an hour late.
    /// </summary>
    public IDisposable RestingOn(string? eventName, DateTimeOffset wakeAt)
    {
        var entry = (eventName, wakeAt);
        lock (_lock)
        {
            (_resting ??= []).Add(entry);
        }

        return new RestingWait(this, entry);
    }

    private sealed class RestingWait(ExecutionState state, (string? EventName, DateTimeOffset WakeAt) entry) : IDisposable
    {
        public void Dispose()
        {
            lock (state._lock)
            {
                state._resting?.Remove(entry);
            }
        }
    }

    /// <summary>Completes once no event or child wait of this execution is at work (before the run suspends).</summary>
    public Task WaitsSettledAsync()
    {
        lock (_lock)
        {
            return _waitsAtWork == 0 ? Task.CompletedTask
                : (_waitsSettled ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    /// <summary>When the suspended run wakes and the events that wake it: every suspension of this execution, <paramref name="thrown"/> included.</summary>
    public (DateTimeOffset WakeAt, IReadOnlyList<string> EventNames) Suspension(SuspendRunException thrown)
    {
        ArgumentNullException.ThrowIfNull(thrown);
        lock (_lock)
        {
            var wakeAt = _tookAfterSuspend ? Engine.Time.GetUtcNow()
                : _earliestWake is { } earliest && earliest < thrown.WakeAt ? earliest : thrown.WakeAt;
            IEnumerable<string> names = _suspendedOn ?? [];
            if (thrown.EventName is { } name)
            {
                names = names.Append(name);
            }

            foreach (var (restingOn, restingUntil) in _resting ?? [])
            {
                wakeAt = restingUntil < wakeAt ? restingUntil : wakeAt;
                if (restingOn is not null)
                {
                    names = names.Append(restingOn);
                }
            }

            return (wakeAt, [.. names.Distinct(StringComparer.Ordinal)]);
        }
    }

    /// <summary>
    /// True while this execution has not yet reached every step a previous execution stored (a fan-out item counts
    /// as reached with its fan-out; a compensation or a patch marker is not a position in the code): the run is replaying its past.
    /// </summary>
    public bool IsReplaying()
    {
        lock (_lock)
        {
            // A patch marker is a decision, not a position: a guard removed once no run needs it (as the README allows) is never
            // reached again, and counting it kept every run that stored it "replaying", so each later patch answered false.
            return Stored.Values.Any(s => s.Kind is not (StepKind.Compensation or StepKind.Patch) && !ReachedWithin(s.Key));
        }
    }

    /// <summary>
    /// Whether <paramref name="key"/>, or a fan-out it is an item of (<c>{fanOut}/{item}</c>), was handed out. Only a fan-out's
    /// key stands for the keys below it: a step <c>invoice/email</c> is not reached with a step <c>invoice</c> (before, it was,
    /// so a patch between the two answered true to a run that had stored <c>invoice/email</c> on code without the patch).
    /// </summary>
    private bool ReachedWithin(string key)
    {
        if (Reached(key))
        {
            return true;
        }

        if (_fanOutKeys is not { } fanOuts)
        {
            return false;
        }

        for (var slash = key.IndexOf('/', StringComparison.Ordinal); slash > 0; slash = key.IndexOf('/', slash + 1))
        {
            if (fanOuts.Contains(key[..slash]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether <see cref="NextKey(string)"/> has handed out <paramref name="key"/> in this execution, read from the name counts
    /// (<c>name</c> is reached at count 1, <c>name#n</c> at count n) instead of keeping every key handed out.
    /// </summary>
    private bool Reached(string key)
    {
        if (CountOf(key) > 0)
        {
            return true;
        }

        var hash = key.LastIndexOf('#');
        // Exactly the text NextKey writes: no sign, no leading zero.
        return hash > 0 && hash + 1 < key.Length && key[hash + 1] != '0'
            && int.TryParse(key.AsSpan(hash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
            && n >= 2
            && CountOf(key[..hash]) >= n;
    }

    /// <summary>How many keys <see cref="NextKey(string)"/> has handed out for <paramref name="name"/>; under the lock.</summary>
    private int CountOf(string name) =>
        name == _firstName ? _firstCount : _nameCounts?.GetValueOrDefault(name) ?? 0;

    public string Serialize<T>(T value) => JsonSerializer.Serialize(value, Engine.Json);

    public T Deserialize<T>(string? json) => json is null ? default! : JsonSerializer.Deserialize<T>(json, Engine.Json)!;

    /// <summary>
    /// A stored step's result read as <typeparamref name="T"/>; a result the type cannot read fails the step by name (before:
    /// the run failed with the serializer's message alone and no step, after a deploy that changed a result's type).
    /// </summary>
    public T Deserialize<T>(string key, string? json)
    {
        try
        {
            return Deserialize<T>(json);
        }
        catch (JsonException ex)
        {
            throw new StepFailedException(
                key,
                $"the stored result of step '{key}' cannot be read as {typeof(T).Name} (its type changed without a new workflow version?): {ex.Message}",
                typeof(JsonException).FullName,
                ex);
        }
    }

    /// <summary>An exception message as stored: its first 2,000 characters, U+0000 replaced (see <see cref="StoredText"/>).</summary>
    public static string ErrorText(string message) => StoredText.Clean(message.Length <= 2000 ? message : message[..2000]);

    /// <summary>
    /// Stores an attempt's end with the step's outcome. When the write is refused (lease lost) or fails (store
    /// unreachable), this execution stops and leaves the run to whichever node holds the lease next: the step's
    /// outcome is not stored, so that node runs the step again (at least once), and this node never learns whether
    /// it still owns the run, so it must not go on.
    /// </summary>
    public async Task EndAttemptAsync(AttemptEndedRequest request)
    {
        bool written;
        try
        {
            written = await Engine.Steps.RecordAttemptEndedAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStoreError(ex, CancellationToken.None))
        {
            throw StoreFailed(ex);
        }

        if (!written)
        {
            throw LeaseRefused();
        }
    }

    /// <summary>
    /// A store call this execution cannot go on without (a wait's or a step's write, a read of what it waits for): an
    /// error from the store stops the execution as <see cref="StoreFailed"/> says, instead of reaching the workflow's
    /// code and failing the run for good. A cancel of <paramref name="cancellationToken"/> is thrown as it is.
    /// </summary>
    public async Task<T> StoreAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken = default)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStoreError(ex, cancellationToken))
        {
            throw StoreFailed(ex);
        }
    }

    /// <inheritdoc cref="StoreAsync{T}(Func{Task{T}}, CancellationToken)"/>
    public async Task StoreAsync(Func<Task> call, CancellationToken cancellationToken = default)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStoreError(ex, cancellationToken))
        {
            throw StoreFailed(ex);
        }
    }

    /// <summary>
    /// Whether <paramref name="ex"/>, thrown by a store call, is the store's error (unreachable, a connection dropped) rather
    /// than this execution stopping already (a lost lease) or the caller's cancel of <paramref name="cancellationToken"/>.
    /// </summary>
    public static bool IsStoreError(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        LeaseLostException => false,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => true,
    };

    /// <summary>
    /// A store call failed: the error is logged (202) and this execution stops as a lost lease does, marked as a store
    /// failure (105 "stopped here after a failed store call", span <c>store_failed</c>), not failed; the run resumes when
    /// its lease expires, on whichever node claims it then. Every wait and step end stops this way, so none can drift
    /// (before: an event wait's error was logged as a lease that expired, a child wait's as a failed store call).
    /// </summary>
    /// <returns>The exception to throw.</returns>
    public LeaseLostException StoreFailed(Exception error)
    {
        Log.StoreWriteFailed(Engine.Logger, error, RunId);
        Active.Interrupt(leaseLost: true, storeFailed: true);
        return new LeaseLostException(RunId);
    }

    /// <summary>The store refused a write of this execution (its lease is gone): it stops, and the next owner carries on.</summary>
    /// <returns>The exception to throw.</returns>
    public LeaseLostException LeaseRefused()
    {
        Active.Interrupt(leaseLost: true);
        return new LeaseLostException(RunId);
    }

    /// <summary>
    /// Holds the end of a step that just succeeded instead of writing it now, when no other step of this execution is
    /// running (fan-out and parallel steps write as they end). The rule that makes this safe: a step's result is stored
    /// before the next step's body starts (<see cref="FlushHeldAsync"/> at every step's start), before the workflow
    /// waits, suspends, waits for an event or starts a child (the context flushes first), and before the run's end is
    /// reported (the run's next write carries it: <see cref="TakeHeldAsync"/>). Until then no code of this run can act
    /// on the outside, so a crash in between only makes the next owner run the step again (at least once).
    /// </summary>
    /// <returns>True when held: the caller must not write it.</returns>
    public bool TryHold(AttemptEndedRequest request)
    {
        lock (_lock)
        {
            // A step starting now has counted itself before it flushes under this lock, so it either makes this 2 or
            // finds the held end.
            if (Volatile.Read(ref _inFlight) != 1 || _held is not null)
            {
                return false;
            }

            _held = request;
            return true;
        }
    }

    /// <summary>
    /// Stores the held step end, if any, as <see cref="EndAttemptAsync"/> does (a refused write stops the execution); a
    /// flush already under way is awaited by every caller, so none goes on before it is stored.
    /// </summary>
    public Task FlushHeldAsync()
    {
        lock (_lock)
        {
            if (_held is { } held)
            {
                _held = null;
                _flushing = EndAttemptAsync(held);
            }

            return _flushing;
        }
    }

    /// <summary>
    /// For the run's next write: takes the held step end so that write stores it in the same transaction, or null when
    /// none is held (after waiting for a flush under way; one that failed throws, the execution already stopped).
    /// </summary>
    public ValueTask<AttemptEndedRequest?> TakeHeldAsync()
    {
        Task flushing;
        lock (_lock)
        {
            if (_held is { } held)
            {
                _held = null;
                return ValueTask.FromResult<AttemptEndedRequest?>(held);
            }

            flushing = _flushing;
        }

        return flushing.IsCompletedSuccessfully ? ValueTask.FromResult<AttemptEndedRequest?>(null) : AfterAsync(flushing);

        static async ValueTask<AttemptEndedRequest?> AfterAsync(Task flushing)
        {
            await flushing.ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Logs the failure of a write nobody waits for.</summary>
    public void Observe(Task<bool> write) =>
        write.ContinueWith(
            static (t, state) =>
            {
                var (logger, runId) = ((ILogger, string))state!;
                Log.StoreWriteFailed(logger, t.Exception!.GetBaseException(), runId);
            },
            (Engine.Logger, RunId),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
}
