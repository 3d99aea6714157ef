using Microsoft.Extensions.Time.Testing;

namespace Baton.Core.Tests.Support;

/// <summary>
/// A fake clock that knows which timers are pending (armed, not yet fired, not disposed) and when each is due.
/// A test holds the clock still until the engine has armed the timer it should (a retry's delay, a timeout, a durable
/// timer), then moves the clock exactly there: no loop of small advances and real waits, and timestamps come out exact.
/// </summary>
internal sealed class ExactClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<WatchedTimer, DateTimeOffset> _pending = [];
    private readonly List<(DateTimeOffset DueAt, TimerKind Kind, TaskCompletionSource Seen)> _waiters = [];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new WatchedTimer(this, callback, state, period);
        var now = GetUtcNow();
        timer.Inner = base.CreateTimer(static s => ((WatchedTimer)s!).Fire(), timer, dueTime, period);
        // Published only once the real timer exists, so a test that waits for it cannot move the clock before it is
        // armed; a one-shot that already fired inside base.CreateTimer is not pending.
        if (!(timer.Fired && period == Timeout.InfiniteTimeSpan))
        {
            Arm(timer, dueTime == Timeout.InfiniteTimeSpan ? null : now + dueTime);
        }

        return timer;
    }

    /// <summary>The due times of the pending timers, earliest first.</summary>
    public IReadOnlyList<DateTimeOffset> PendingTimers()
    {
        lock (_lock)
        {
            return [.. _pending.Values.Order()];
        }
    }

    /// <summary>
    /// Waits (up to 60 s of real time) until a timer of <paramref name="kind"/> due at exactly <paramref name="dueAt"/>
    /// is pending. The kind tells the engine's timer from housekeeping timers due at the same instant (a claim loop's
    /// poll is a timeout too, but never a delay).
    /// </summary>
    public async Task WaitForTimerAsync(DateTimeOffset dueAt, TimerKind kind = TimerKind.Any)
    {
        TaskCompletionSource seen;
        lock (_lock)
        {
            if (_pending.Any(p => p.Value == dueAt && p.Key.Is(kind)))
            {
                return;
            }

            seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((dueAt, kind, seen));
        }

        try
        {
            await seen.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            var pending = string.Join(", ", PendingTimers().Select(a => a.ToString("O")));
            throw new TimeoutException($"no timer due at {dueAt:O} was armed in 60 s (now {GetUtcNow():O}); pending: {pending}");
        }
    }

    /// <summary>Moves the clock to <paramref name="instant"/>, firing every timer due by then.</summary>
    public void AdvanceTo(DateTimeOffset instant)
    {
        var now = GetUtcNow();
        if (instant < now)
        {
            throw new InvalidOperationException($"the clock is at {now:O}, past {instant:O}");
        }

        Advance(instant - now);
    }

    /// <summary>Waits until a timer of <paramref name="kind"/> due at <paramref name="dueAt"/> is pending, then moves the clock there.</summary>
    public async Task AdvanceToTimerAsync(DateTimeOffset dueAt, TimerKind kind = TimerKind.Any)
    {
        await WaitForTimerAsync(dueAt, kind);
        AdvanceTo(dueAt);
    }

    private void Arm(WatchedTimer timer, TimeSpan dueTime) =>
        Arm(timer, dueTime == Timeout.InfiniteTimeSpan ? null : GetUtcNow() + dueTime);

    private void Arm(WatchedTimer timer, DateTimeOffset? due)
    {
        lock (_lock)
        {
            if (due is not { } dueAt)
            {
                _pending.Remove(timer);
                return;
            }

            _pending[timer] = dueAt;
            foreach (var waiter in _waiters.Where(w => w.DueAt == dueAt && timer.Is(w.Kind)).ToList())
            {
                waiter.Seen.TrySetResult();
                _waiters.Remove(waiter);
            }
        }
    }

    private void Fired(WatchedTimer timer, TimeSpan period)
    {
        if (period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero)
        {
            Arm(timer, Timeout.InfiniteTimeSpan);
        }
        else
        {
            Arm(timer, period);
        }
    }

    private sealed class WatchedTimer(ExactClock clock, TimerCallback callback, object? state, TimeSpan period) : ITimer
    {
        private TimeSpan _period = period;

        public ITimer Inner { get; set; } = null!;

        public bool Is(TimerKind kind) => kind switch
        {
            TimerKind.Periodic => _period != Timeout.InfiniteTimeSpan && _period != TimeSpan.Zero,
            // Task.Delay's timer state is its delay promise; a CancellationTokenSource arms its timer with itself.
            TimerKind.Delay => state?.GetType().Name.Contains("Delay", StringComparison.Ordinal) == true,
            TimerKind.Timeout => state is CancellationTokenSource,
            _ => true,
        };

        public bool Fired { get; private set; }

        public void Fire()
        {
            Fired = true;
            clock.Fired(this, _period);
            callback(state);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            _period = period;
            var changed = Inner.Change(dueTime, period);
            if (changed)
            {
                // A one-shot changed to fire now has fired inside Change.
                clock.Arm(this, dueTime == TimeSpan.Zero && (period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero) ? Timeout.InfiniteTimeSpan : dueTime);
            }

            return changed;
        }

        public void Dispose()
        {
            Inner.Dispose();
            clock.Arm(this, Timeout.InfiniteTimeSpan);
        }

        public async ValueTask DisposeAsync()
        {
            await Inner.DisposeAsync();
            clock.Arm(this, Timeout.InfiniteTimeSpan);
        }
    }
}

/// <summary>What armed a timer, as far as a test needs to tell them apart.</summary>
internal enum TimerKind
{
    Any,
    /// <summary>A <c>Task.Delay</c> on the clock: retry backoff, a durable timer waiting in memory.</summary>
    Delay,
    /// <summary>A <c>CancellationTokenSource</c> cancelled after a time: attempt and run timeouts, lease expiry, the claim loop's poll.</summary>
    Timeout,
    /// <summary>A periodic timer: heartbeats, progress flush.</summary>
    Periodic,
}
