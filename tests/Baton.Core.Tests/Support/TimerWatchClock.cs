using Microsoft.Extensions.Time.Testing;

namespace Baton.Core.Tests.Support;

/// <summary>
/// A fake clock that also records every timer armed on it and the instant it is due. A test can hold the
/// clock still until the engine waits for exactly the instant it should, then move the clock there, so
/// timestamps come out exact instead of within the step of a clock advanced in a loop.
/// </summary>
internal sealed class TimerWatchClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Lock _lock = new();
    private readonly List<DateTimeOffset> _armed = [];
    private readonly List<(DateTimeOffset DueAt, TaskCompletionSource Seen)> _waiters = [];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new WatchedTimer(this, base.CreateTimer(callback, state, dueTime, period));
        Armed(dueTime);
        return timer;
    }

    /// <summary>
    /// Waits (up to 20 s of real time) until a timer due at exactly <paramref name="dueAt"/> has been armed,
    /// before or after this call.
    /// </summary>
    public async Task WaitForTimerAsync(DateTimeOffset dueAt)
    {
        TaskCompletionSource seen;
        lock (_lock)
        {
            if (_armed.Contains(dueAt))
            {
                return;
            }

            seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((dueAt, seen));
        }

        try
        {
            await seen.Task.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            string armed;
            lock (_lock)
            {
                armed = string.Join(", ", _armed.Distinct().Order().Select(a => a.ToString("O")));
            }

            throw new TimeoutException($"no timer due at {dueAt:O} was armed in 20 s; armed: {armed}");
        }
    }

    private void Armed(TimeSpan dueTime)
    {
        if (dueTime == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        var dueAt = GetUtcNow() + dueTime;
        lock (_lock)
        {
            _armed.Add(dueAt);
            foreach (var waiter in _waiters.Where(w => w.DueAt == dueAt).ToList())
            {
                waiter.Seen.TrySetResult();
                _waiters.Remove(waiter);
            }
        }
    }

    private sealed class WatchedTimer(TimerWatchClock clock, ITimer inner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = inner.Change(dueTime, period);
            if (changed)
            {
                clock.Armed(dueTime);
            }

            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
