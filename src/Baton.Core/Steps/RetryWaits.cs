using Baton.Hosting;
using Baton.Retries;
using Baton.Runs;
using Baton.Storage;
using Baton.Timers;

namespace Baton.Steps;

/// <summary>
/// The wait between two attempts of one step. A backoff of at least <see cref="BatonOptions.RetrySuspendThreshold"/>,
/// with no other step of the run in flight, stores the failed attempt, then suspends the run until the next attempt is
/// due (the run's RunAfter), giving back its lease and worker slot; any node runs the next attempt then. Shorter
/// backoffs wait in memory. The due time is stored with the failed attempt (a <see cref="RetryAfterException"/>'s longer
/// wait included); a run resumed between attempts (an event sent to it while suspended, a crash during an in-memory wait)
/// waits until it, so it never runs the next attempt early. An attempt stored before the due time was kept has its due
/// time recomputed from the policy (jitter is a function of run, step and attempt).
/// </summary>
internal sealed class RetryWaits(ExecutionState state, string key, RetryPolicy policy, bool mayWaitDurably)
{
    /// <summary>Waits until <paramref name="dueAt"/> after the failed attempt <paramref name="failed"/>, in memory or suspended.</summary>
    public async Task WaitAsync(AttemptEndedRequest failed, DateTimeOffset stepStartedAt, DateTimeOffset dueAt, CancellationToken runToken)
    {
        var engine = state.Engine;
        if (ShouldSuspend(dueAt - failed.EndedAt))
        {
            // The failed attempt is stored before the lease goes: the next claim continues from its number.
            await state.EndAttemptAsync(failed).ConfigureAwait(false);
            state.Stored[key] = new StepRecord
            {
                RunId = state.RunId, Key = key, Kind = failed.Kind, Status = StepStatus.Running, Error = failed.ErrorMessage,
                ErrorType = failed.ErrorType, Attempts = failed.Attempt, StartedAt = stepStartedAt,
            };
            throw state.Suspend(dueAt);
        }

        state.Observe(engine.Steps.RecordAttemptEndedAsync(failed, CancellationToken.None));
        await Task.Delay(dueAt - failed.EndedAt, engine.Time, runToken).ConfigureAwait(false);
    }

    /// <summary>
    /// When the stored step's last attempt failed and is to be retried, waits until the next attempt is due: suspends
    /// again if that is far off, waits in memory if near, returns at once if due.
    /// </summary>
    public async Task ResumeAsync(StepRecord? stored, CancellationToken runToken)
    {
        if (stored is not { Status: StepStatus.Running, Error: not null, Attempts: > 0 })
        {
            return;
        }

        var engine = state.Engine;
        // A store error stops the execution and the next claim reads again (before: it failed the run, no step named).
        var attempts = await state.StoreAsync(() => engine.Steps.GetAttemptsAsync(state.RunId, runToken), runToken).ConfigureAwait(false);
        var last = attempts.FirstOrDefault(a => a.StepKey == key && a.Attempt == stored.Attempts);
        if (last is not { Outcome: AttemptOutcome.Failed or AttemptOutcome.TimedOut, EndedAt: { } endedAt })
        {
            // The last attempt was cut off (crash, lease lost) rather than failed: no backoff is owed.
            return;
        }

        // The due time stored with the attempt (a RetryAfterException's longer wait included); an attempt stored before it
        // was kept has none, and its due time is the policy's own.
        var dueAt = last.RetryAt ?? endedAt + policy.NextDelay(stored.Attempts, engine.Jitter.Draw(state.RunId, key, stored.Attempts));
        var remaining = dueAt - engine.Time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        if (ShouldSuspend(remaining))
        {
            throw state.Suspend(dueAt);
        }

        await Task.Delay(remaining, engine.Time, runToken).ConfigureAwait(false);
    }

    // The step itself counts as in flight; any other step running means the execution must go on.
    private bool ShouldSuspend(TimeSpan wait) =>
        mayWaitDurably && !state.ReplayOnly && wait >= state.Engine.Options.RetrySuspendThreshold && state.InFlight == 1;
}
