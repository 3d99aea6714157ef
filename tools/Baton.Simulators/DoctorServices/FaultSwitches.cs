using System.Collections.Concurrent;

namespace Baton.Simulators.DoctorServices;

/// <summary>What to do to one pattern: fail every call, fail the next <see cref="FailTimes"/> calls, and/or delay each call or its reply.</summary>
public sealed record PatternFault
{
    public bool FailAlways { get; init; }

    /// <summary>Calls still to fail (counts down); 0 for none.</summary>
    public int FailTimes { get; init; }

    /// <summary>Delay before answering, in milliseconds; 0 for none.</summary>
    public int DelayMs { get; init; }

    /// <summary>
    /// Delay after the call has been carried out and before its reply, in milliseconds; 0 for none: a caller that times
    /// out meanwhile never learns what was made (a lost reply).
    /// </summary>
    public int ReplyDelayMs { get; init; }

    /// <summary>The error message of a failed call. The default is "simulated failure of &lt;pattern&gt;".</summary>
    public string? Message { get; init; }

    /// <summary>
    /// In-process rigs only: each call waits for this task (after <see cref="DelayMs"/>) before it is carried out, so a
    /// test can hold calls in flight for as long as it needs (e.g. until the broker is down) instead of guessing a delay.
    /// </summary>
    public Task? Hold { get; init; }

    /// <summary>
    /// In-process rigs only: each call is carried out, then waits for this task before it answers (after
    /// <see cref="ReplyDelayMs"/>), so a test can make a read answer with what it found before a change it lets happen meanwhile.
    /// </summary>
    public Task? ReplyHold { get; init; }
}

/// <summary>The simulators' switches, per pattern (thread-safe).</summary>
public sealed class FaultSwitches
{
    private readonly ConcurrentDictionary<string, PatternFault> _faults = new(StringComparer.Ordinal);

    public void Set(string pattern, PatternFault fault) => _faults[pattern] = fault;

    public void Clear(string pattern) => _faults.TryRemove(pattern, out _);

    public void ClearAll() => _faults.Clear();

    /// <summary>The delay to apply and whether this call fails (a <see cref="PatternFault.FailTimes"/> fault is used up once per call).</summary>
    internal (int DelayMs, string? FailMessage, int ReplyDelayMs, Task? Hold, Task? ReplyHold) Take(string pattern)
    {
        while (_faults.TryGetValue(pattern, out var fault))
        {
            var message = fault.Message ?? $"simulated failure of {pattern}";
            if (fault.FailAlways)
            {
                return (fault.DelayMs, message, fault.ReplyDelayMs, fault.Hold, fault.ReplyHold);
            }

            if (fault.FailTimes <= 0)
            {
                return (fault.DelayMs, null, fault.ReplyDelayMs, fault.Hold, fault.ReplyHold);
            }

            if (_faults.TryUpdate(pattern, fault with { FailTimes = fault.FailTimes - 1 }, fault))
            {
                return (fault.DelayMs, message, fault.ReplyDelayMs, fault.Hold, fault.ReplyHold);
            }
        }

        return (0, null, 0, null, null);
    }
}
