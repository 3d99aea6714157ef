using System.Globalization;
using System.Text.Json;
using Baton.Compensation;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;

namespace Baton.Timers;

/// <summary>
/// Durable timers of one execution: the wake-up time is stored as a step the first time the timer is reached, so a
/// resumed run waits only for what is left. A long wait with no step in flight suspends the run and gives its lease back.
/// </summary>
internal sealed class DurableTimers(ExecutionState state)
{
    /// <summary>Waits until <paramref name="until"/>, or <paramref name="delay"/> from the first time the timer is reached when set.</summary>
    public async Task WaitAsync(string name, TimeSpan? delay, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var key = state.NextUserKey(name);
        state.TakeStepKey(key);
        var engine = state.Engine;
        // At work until its wake-up time is registered (a suspension or a rest in memory): a sibling wait that suspends the run
        // meanwhile waits for it (ExecutionState.WaitsSettledAsync). Before, a timer reached for the first time was storing its
        // wake-up time while WhenAny(eventWait, timer)'s event wait suspended the run, and the run slept without the timer's
        // time: an approval "within 10 minutes" whose limit never fired.
        state.WaitAtWork();
        IDisposable resting;
        TimeSpan remaining;
        try
        {
            if (await WakeAtAsync(key, delay, until).ConfigureAwait(false) is not { } wakeAt)
            {
                return;
            }

            remaining = wakeAt - engine.Time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            if (remaining >= engine.Options.SuspendThreshold && state.InFlight == 0)
            {
                throw state.Suspend(wakeAt);
            }

            // A suspension meanwhile (a durable retry wait of a step in flight) wakes the run at this timer at the latest.
            resting = state.RestingOn(null, wakeAt);
        }
        finally
        {
            state.WaitAtRest(took: false);
        }

        using (resting)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, state.Active.AnyToken);
            await Task.Delay(remaining, engine.Time, linked.Token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The timer's wake-up time: the stored one, or, the first time it is reached, <paramref name="delay"/> from now (else
    /// <paramref name="until"/>), stored; null in the replay that collects compensations (no waiting there).
    /// </summary>
    private async Task<DateTimeOffset?> WakeAtAsync(string key, TimeSpan? delay, DateTimeOffset until)
    {
        var engine = state.Engine;
        DateTimeOffset wakeAt;
        if (state.Stored.TryGetValue(key, out var stored) && stored.Status == StepStatus.Succeeded)
        {
            wakeAt = DateTimeOffset.Parse(JsonSerializer.Deserialize<string>(stored.Result!)!, CultureInfo.InvariantCulture);
        }
        else if (state.ReplayOnly)
        {
            throw new CompensationReplayStop();
        }
        else
        {
            var now = engine.Time.GetUtcNow();
            wakeAt = delay is { } d ? now + d : until;
            var result = JsonSerializer.Serialize(wakeAt.ToString("O", CultureInfo.InvariantCulture));
            await state.EndAttemptAsync(new AttemptEndedRequest
            {
                RunId = state.RunId, Owner = engine.Owner, StepKey = key, Kind = StepKind.Timer, Attempt = 1,
                StartedAt = now, EndedAt = now, Outcome = AttemptOutcome.Succeeded, StepStatus = StepStatus.Succeeded, Result = result,
            }).ConfigureAwait(false);
            state.Stored[key] = new StepRecord { RunId = state.RunId, Key = key, Kind = StepKind.Timer, Status = StepStatus.Succeeded, Result = result, Attempts = 1, StartedAt = now, CompletedAt = now };
        }

        return state.ReplayOnly ? null : wakeAt;
    }
}
