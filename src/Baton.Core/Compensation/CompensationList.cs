namespace Baton.Compensation;

/// <summary>A compensation registered by a completed step, keyed by that step.</summary>
internal sealed record PendingCompensation(string StepKey, Func<CancellationToken, Task> Action);

/// <summary>The compensations of one execution, in the order their steps completed.</summary>
internal sealed class CompensationList
{
    private readonly List<PendingCompensation> _items = [];
    private readonly Lock _lock = new();

    public void Add(string stepKey, Func<CancellationToken, Task> action)
    {
        lock (_lock)
        {
            _items.Add(new PendingCompensation(stepKey, action));
        }
    }

    /// <summary>A copy: fan-out items may still be adding while it is read.</summary>
    public IReadOnlyList<PendingCompensation> Snapshot()
    {
        lock (_lock)
        {
            return [.. _items];
        }
    }
}
