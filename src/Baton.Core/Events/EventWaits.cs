using System.Text.Json;
using Baton.Compensation;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;
using Baton.Timers;
using Baton.Workers;

namespace Baton.Events;

/// <summary>
/// Waits for external events in one execution. A wait is a step of kind <see cref="StepKind.Event"/> keyed
/// <c>event:{name}</c> (then <c>#2</c>...): its start is stored when the wait is first reached (so a timeout counts
/// from then, across restarts), and its result is the consumed event's payload, so a resumed run gets the same
/// payload without consuming another event. With no event yet and no step in flight the run suspends, giving its
/// lease and slot back; storing the event makes it due again.
/// </summary>
internal sealed class EventWaits(ExecutionState state)
{
    /// <summary>The wake-up time of a wait with no timeout: never, in practice (an event or a cancel wakes it).</summary>
    internal static readonly DateTimeOffset NoDeadline = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // While steps of the same execution are in flight the run cannot suspend; it looks for the event this often.
    private static readonly TimeSpan InMemoryRecheck = TimeSpan.FromSeconds(1);

    public async Task<T> WaitAsync<T>(string name, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (EventNames.Validate(name) is { } invalid)
        {
            throw new ArgumentException(invalid, nameof(name));
        }

        if (timeout is { } t && t <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the timeout must be positive");
        }

        var key = state.NextKey("event:" + name);
        var engine = state.Engine;
        state.Stored.TryGetValue(key, out var stored);
        if (stored?.Status == StepStatus.Succeeded)
        {
            return state.Deserialize<T>(key, stored.Result);
        }

        // A stored timeout or unreadable payload was thrown to the workflow, which may have gone on from it: a resumed run
        // gets it again, whether or not the steps it went on to were stored before a crash. A retry of the run reopens the
        // wait whose failure ended the run, and marks a wait in progress to begin anew (StoredValues.ReopenFailed): the wait
        // is then running with an end time, and is waited for anew in a new attempt, with a new timeout.
        if (stored?.Status == StepStatus.Failed)
        {
            throw stored.ErrorType == typeof(EventPayloadException).FullName
                ? new EventPayloadException(name, key, stored.Error ?? EventPayloadException.MessageFor(name, typeof(T), "unreadable"))
                : new EventTimeoutException(name, timeout ?? TimeSpan.Zero) { StepKey = key };
        }

        if (state.ReplayOnly)
        {
            throw new CompensationReplayStop();
        }

        // At work until it returns, throws or sleeps in memory: a suspension of the run waits for it (ExecutionState.WaitAtRest).
        state.WaitAtWork();
        var took = false;
        try
        {
            var reopened = stored is { Status: StepStatus.Running, CompletedAt: not null };
            var attempt = stored is null ? 1 : reopened ? stored.Attempts + 1 : stored.Attempts;
            var startedAt = stored is { Status: StepStatus.Running } && !reopened
                ? await ResumedStartAsync(stored).ConfigureAwait(false)
                : await StartAsync(key, attempt).ConfigureAwait(false);
            // A timeout reaching past the year 9999 is no timeout (before: the sum overflowed and failed the run, on every retry).
            var deadline = timeout is { } limit && limit < NoDeadline - startedAt ? startedAt + limit : NoDeadline;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, state.Active.AnyToken);
            while (true)
            {
                linked.Token.ThrowIfCancellationRequested();
                // An event stored after the deadline is not taken: the wait timed out before it came, even when no node ran
                // the run at the deadline (before: a "decide within 1 h" run down for 2 h took a late answer).
                var consumed = await ConsumeAsync(name, key, deadline == NoDeadline ? null : deadline).ConfigureAwait(false);
                var now = engine.Time.GetUtcNow();
                if (consumed.Event is { } received)
                {
                    var payload = received.Payload ?? "null";
                    T value;
                    try
                    {
                        value = state.Deserialize<T>(payload);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The event is taken, and the wait fails by name (before: its payload was stored as the step's result,
                        // the run failed with the serializer's message, and every retry failed reading that result). Any error
                        // reading it counts: the serializer's, or the type's own constructor refusing the values.
                        var unreadable = new EventPayloadException(name, key, EventPayloadException.MessageFor(name, typeof(T), ex.Message), ex);
                        await EndAsync(key, attempt, startedAt, now, StepStatus.Failed, null, unreadable, AttemptOutcome.Failed).ConfigureAwait(false);
                        took = true;
                        throw unreadable;
                    }

                    await EndAsync(key, attempt, startedAt, now, StepStatus.Succeeded, payload, null, AttemptOutcome.Succeeded).ConfigureAwait(false);
                    took = true;
                    return value;
                }

                if (now >= deadline)
                {
                    var error = new EventTimeoutException(name, timeout!.Value) { StepKey = key };
                    await EndAsync(key, attempt, startedAt, now, StepStatus.Failed, null, error, AttemptOutcome.TimedOut).ConfigureAwait(false);
                    throw error;
                }

                var remaining = deadline - now;
                if (remaining >= engine.Options.SuspendThreshold && state.InFlight == 0)
                {
                    throw state.Suspend(deadline, name);
                }

                // A suspension meanwhile (a step's durable retry wait) wakes for this event and at this deadline too.
                using (state.RestingOn(name, deadline))
                {
                    await state.RestAsync(remaining < InMemoryRecheck ? remaining : InMemoryRecheck, linked.Token).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            state.WaitAtRest(took);
        }
    }

    /// <summary>Takes the next event of <paramref name="name"/> for step <paramref name="key"/> (the one it took before, if any).</summary>
    private async Task<ConsumeEventResult> ConsumeAsync(string name, string key, DateTimeOffset? storedBy)
    {
        var engine = state.Engine;
        // As for the wait's other store calls: an error stops this execution and the next claim waits again (an event taken
        // by this step is given to it again). Before: the store's error failed the run, and reached the workflow's code.
        var consumed = await state.StoreAsync(() => engine.Events.ConsumeEventAsync(new ConsumeEventRequest
        {
            RunId = state.RunId, Owner = engine.Owner, Name = name, StepKey = key, Now = engine.Time.GetUtcNow(), StoredBy = storedBy,
        }, CancellationToken.None)).ConfigureAwait(false);
        if (!consumed.LeaseHeld)
        {
            throw state.LeaseRefused();
        }

        return consumed;
    }

    /// <summary>
    /// When the wait now in progress began: the step's start for its first attempt; for a wait reached again after a
    /// retry of the run, that attempt's own start (the step row keeps the first one).
    /// </summary>
    private async Task<DateTimeOffset> ResumedStartAsync(StepRecord stored)
    {
        if (stored.Attempts <= 1)
        {
            return stored.StartedAt;
        }

        var attempts = await state.StoreAsync(() => state.Engine.Steps.GetAttemptsAsync(state.RunId)).ConfigureAwait(false);
        return attempts.LastOrDefault(a => a.StepKey == stored.Key && a.Attempt == stored.Attempts)?.StartedAt ?? stored.StartedAt;
    }

    private async Task<DateTimeOffset> StartAsync(string key, int attempt)
    {
        var engine = state.Engine;
        var now = engine.Time.GetUtcNow();
        var written = await state.StoreAsync(() => engine.Steps.RecordAttemptStartedAsync(new AttemptStartedRequest
        {
            RunId = state.RunId, Owner = engine.Owner, StepKey = key, Kind = StepKind.Event, Attempt = attempt, StartedAt = now,
        }, CancellationToken.None)).ConfigureAwait(false);
        if (!written)
        {
            throw state.LeaseRefused();
        }

        state.Stored[key] = new StepRecord { RunId = state.RunId, Key = key, Kind = StepKind.Event, Status = StepStatus.Running, Attempts = attempt, StartedAt = now };
        return now;
    }

    private async Task EndAsync(
        string key, int attempt, DateTimeOffset startedAt, DateTimeOffset now, StepStatus status, string? result, Exception? error, AttemptOutcome outcome)
    {
        var errorType = error?.GetType().FullName;
        var errorText = error is null ? null : ExecutionState.ErrorText(error.Message);
        await state.EndAttemptAsync(new AttemptEndedRequest
        {
            RunId = state.RunId, Owner = state.Engine.Owner, StepKey = key, Kind = StepKind.Event, Attempt = attempt,
            StartedAt = startedAt, EndedAt = now, Outcome = outcome,
            StepStatus = status, Result = result, ErrorType = errorType, ErrorMessage = errorText,
        }).ConfigureAwait(false);
        state.Stored[key] = new StepRecord
        {
            RunId = state.RunId, Key = key, Kind = StepKind.Event, Status = status, Result = result, Error = errorText,
            ErrorType = errorType, Attempts = attempt, StartedAt = startedAt, CompletedAt = now,
        };
    }
}
