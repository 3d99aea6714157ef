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

        var recorded = engine.Steps.RecordAttemptEndedAsync(failed, CancellationToken.None);
        state.Observe(recorded);
        await InMemoryAsync(dueAt - failed.EndedAt, failed.Kind, failed.Attempt, recorded, runToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits <paramref name="delay"/> before attempt <paramref name="lastAttempt"/> + 1. Cut off meanwhile by a cancel, the
    /// run's timeout, the workflow's own token or the fan-out's stop (not an interrupt: the run resumes that wait), the step
    /// ends failed, as an attempt cut off while it runs does: that next attempt is stored cancelled, before it started, after
    /// the failed one's write (<paramref name="recorded"/>). Before, the step stayed "running" under the ended run for ever
    /// (review 58: a fan-out item in its backoff when a sibling failed the fan-out). A later execution that reaches it runs
    /// it again (its last attempt cancelled).
    /// </summary>
    private async Task InMemoryAsync(TimeSpan delay, StepKind kind, int lastAttempt, Task recorded, CancellationToken runToken)
    {
        var engine = state.Engine;
        try
        {
            await Task.Delay(delay, engine.Time, runToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (runToken.IsCancellationRequested && !state.Active.Interrupted)
        {
            // Ordered after the failed attempt's write (two writer lanes on PostgreSQL do not order them); its error is logged.
            await recorded.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var now = engine.Time.GetUtcNow();
            state.Observe(engine.Steps.RecordAttemptEndedAsync(new AttemptEndedRequest
            {
                RunId = state.RunId, Owner = engine.Owner, StepKey = key, Kind = kind, Attempt = lastAttempt + 1,
                StartedAt = now, EndedAt = now, Outcome = AttemptOutcome.Cancelled, StepStatus = StepStatus.Failed,
                ErrorType = typeof(OperationCanceledException).FullName, ErrorMessage = "cut off before it started, during the backoff",
            }, CancellationToken.None));
            throw;
        }
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

        await InMemoryAsync(remaining, stored.Kind, last.Attempt, Task.CompletedTask, runToken).ConfigureAwait(false);
    }

    // The step itself counts as in flight; any other step running means the execution must go on.
    private bool ShouldSuspend(TimeSpan wait) =>
        mayWaitDurably && !state.ReplayOnly && wait >= state.Engine.Options.RetrySuspendThreshold && state.InFlight == 1;
}
