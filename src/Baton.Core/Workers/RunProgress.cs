using Baton.Runs;
using Baton.Storage;

namespace Baton.Workers;

/// <summary>A run's live phase, counters and bounded error list; written to the store when dirty.</summary>
internal sealed class RunProgress
{
    private static readonly IReadOnlyDictionary<string, long> NoCounters = new Dictionary<string, long>();
    private readonly Lock _lock = new();
    // Made on the first counter or error (most runs have neither): a run with none allocates no dictionary and no list.
    private Dictionary<string, long>? _counters;
    private List<RunError>? _errors;
    private readonly int _maxErrors;
    private string? _phase;
    private bool _dirty;

    public RunProgress(RunRecord run, int maxErrors)
    {
        _counters = run.Progress.Count == 0 ? null : new Dictionary<string, long>(run.Progress, StringComparer.Ordinal);
        _errors = run.Errors.Count == 0 ? null : [.. run.Errors];
        _phase = run.Phase;
        _maxErrors = maxErrors;
    }

    public void SetPhase(string phase)
    {
        phase = StoredText.Clean(phase);
        lock (_lock)
        {
            _dirty |= _phase != phase;
            _phase = phase;
        }
    }

    public void Increment(string counter, long delta)
    {
        counter = StoredText.Clean(counter);
        lock (_lock)
        {
            var counters = _counters ??= new Dictionary<string, long>(StringComparer.Ordinal);
            counters[counter] = counters.GetValueOrDefault(counter) + delta;
            _dirty = true;
        }
    }

    /// <summary>A counter's value now (0 when it has none): as the run's stored progress had it, or as this execution set it.</summary>
    public long Get(string counter)
    {
        counter = StoredText.Clean(counter);
        lock (_lock)
        {
            return _counters?.GetValueOrDefault(counter) ?? 0;
        }
    }

    public void Set(string counter, long value)
    {
        counter = StoredText.Clean(counter);
        lock (_lock)
        {
            var counters = _counters ??= new Dictionary<string, long>(StringComparer.Ordinal);
            _dirty |= !counters.TryGetValue(counter, out var old) || old != value;
            counters[counter] = value;
        }
    }

    public void AddError(RunError error)
    {
        if (StoredText.HasNul(error.Message) || StoredText.HasNul(error.Step))
        {
            error = error with { Message = StoredText.Clean(error.Message), Step = StoredText.CleanOrNull(error.Step) };
        }

        lock (_lock)
        {
            var errors = _errors ??= [];
            errors.Add(error);
            if (errors.Count > _maxErrors)
            {
                errors.RemoveRange(0, errors.Count - _maxErrors);
            }

            _dirty = true;
        }
    }

    /// <summary>A copy of the current state; clears the dirty flag when <paramref name="onlyIfDirty"/> finds it set.</summary>
    public Snapshot? TakeSnapshot(bool onlyIfDirty)
    {
        lock (_lock)
        {
            if (onlyIfDirty && !_dirty)
            {
                return null;
            }

            _dirty = false;
            // Most runs have no counters and no errors: their snapshot shares the empty ones.
            return new Snapshot(
                _phase,
                _counters is { Count: > 0 } counters ? new Dictionary<string, long>(counters) : NoCounters,
                _errors is { Count: > 0 } errors ? [.. errors] : []);
        }
    }

    public sealed record Snapshot(string? Phase, IReadOnlyDictionary<string, long> Counters, IReadOnlyList<RunError> Errors);
}
