namespace Baton.Compensation;

/// <summary>
/// A compensation registered by a completed step, keyed by that step. <paramref name="Call"/> is the call of the execution that
/// took the step's key (a fan-out's, for its items) and <paramref name="Item"/> the item's place in its fan-out (0 for a step):
/// both are the same on every replay, where the order of registration is not.
/// </summary>
internal sealed record PendingCompensation(string StepKey, long Call, int Item, Func<CancellationToken, Task> Action);

/// <summary>The compensations of one execution, in the order their steps completed.</summary>
internal sealed class CompensationList
{
    private readonly List<PendingCompensation> _items = [];
    private readonly Lock _lock = new();

    public void Add(string stepKey, long call, int item, Func<CancellationToken, Task> action)
    {
        lock (_lock)
        {
            _items.Add(new PendingCompensation(stepKey, call, item, action));
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
