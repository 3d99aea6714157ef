namespace Baton.Core.Tests.FanOut;

/// <summary>
/// For the fan-out tests that look at what is taken while the slots are full: items 0 to <c>count</c> - 1 hold their slots
/// in <see cref="HoldAsync"/> until <see cref="Release"/>; <see cref="AllHolding"/> completes once they all do.
/// </summary>
internal sealed class FirstItemsHeld(int count)
{
    private readonly TaskCompletionSource _allHolding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _holding;

    public Task AllHolding => _allHolding.Task;

    public void Release() => _released.SetResult();

    /// <summary>Returns at once for a later item; holds one of the first until <see cref="Release"/>.</summary>
    public async Task HoldAsync(int item)
    {
        if (item >= count)
        {
            return;
        }

        if (Interlocked.Increment(ref _holding) == count)
        {
            _allHolding.TrySetResult();
        }

        await _released.Task;
    }
}
