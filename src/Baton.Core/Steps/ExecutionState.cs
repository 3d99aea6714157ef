using System.Collections.Concurrent;
using System.Text.Json;
using Baton.Compensation;
using Baton.Runs;
using Baton.Storage;
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
    private readonly Dictionary<string, int> _nameCounts = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reached = new(StringComparer.Ordinal);
    private readonly Lock _keyLock = new();
    private CompensationList? _compensations;
    private int _inFlight;

    public ExecutionState(ActiveRun active, WorkflowDefinition definition, EngineServices engine, IEnumerable<StepRecord> stored, bool replayOnly)
    {
        Active = active;
        Definition = definition;
        Engine = engine;
        Stored = new ConcurrentDictionary<string, StepRecord>(stored.Select(s => KeyValuePair.Create(s.Key, s)), StringComparer.Ordinal);
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

    public void StepEnded() => Interlocked.Decrement(ref _inFlight);

    /// <summary>The key of the next step named <paramref name="name"/>: the name, then <c>name#2</c>, <c>name#3</c>...</summary>
    public string NextKey(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("a step needs a name", nameof(name));
        }

        lock (_keyLock)
        {
            var count = _nameCounts.GetValueOrDefault(name) + 1;
            _nameCounts[name] = count;
            var key = count == 1 ? name : $"{name}#{count}";
            _reached.Add(key);
            return key;
        }
    }

    /// <summary>
    /// True while this execution has not yet reached every step a previous execution stored (a fan-out item counts
    /// as reached with its fan-out, a compensation is not a position in the code): the run is replaying its past.
    /// </summary>
    public bool IsReplaying()
    {
        lock (_keyLock)
        {
            return Stored.Values.Any(s => s.Kind != StepKind.Compensation && !_reached.Contains(s.Key)
                && !_reached.Any(k => s.Key.StartsWith(k + "/", StringComparison.Ordinal)));
        }
    }

    public string Serialize<T>(T value) => JsonSerializer.Serialize(value, Engine.Json);

    public T Deserialize<T>(string? json) => json is null ? default! : JsonSerializer.Deserialize<T>(json, Engine.Json)!;

    public static string Truncate(string message) => message.Length <= 2000 ? message : message[..2000];

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
        catch (Exception ex)
        {
            Log.StoreWriteFailed(Engine.Logger, ex, RunId);
            written = false;
        }

        if (!written)
        {
            Active.Interrupt(leaseLost: true);
            throw new LeaseLostException(RunId);
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
