using System.Runtime.ExceptionServices;
using Baton.Diagnostics;
using Baton.Runs;
using Baton.Storage;
using Baton.Workers;

namespace Baton.Steps;

/// <summary>
/// Durable steps of one execution: a completed step returns its stored result; any other runs attempt after
/// attempt under its retry policy and timeout, and its outcome is stored before the workflow goes on.
/// </summary>
internal sealed class StepRunner(ExecutionState state)
{
    /// <summary>Runs a named step and, when it has one, registers its compensation with its result.</summary>
    public async Task<T> StepAsync<T>(
        string name,
        Func<CancellationToken, Task<T>> work,
        StepOptions? options,
        Func<T, CancellationToken, Task>? compensate,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var key = state.NextUserKey(name, out var call);
        state.TakeStepKey(key);
        state.OutcomeOpened();
        try
        {
            var json = await RunAsync(key, StepKind.Step, async ct => state.Serialize(await work(ct).ConfigureAwait(false)), options, StepStatus.Failed, cancellationToken, mayWaitDurably: true).ConfigureAwait(false);
            var value = state.Deserialize<T>(key, json);
            if (compensate is not null)
            {
                state.Compensations.Add(key, call, 0, ct => compensate(value, ct));
            }

            return value;
        }
        finally
        {
            state.OutcomeHanded();
        }
    }

    /// <summary>Returns the stored result of <paramref name="key"/>, or runs it with retries and stores the result.</summary>
    /// <param name="stopToken">What stops the step besides <paramref name="cancellationToken"/>; the default is the run's cancel and interrupt.</param>
    /// <param name="mayWaitDurably">
    /// True for a step the workflow awaits directly: a long backoff may then suspend the run (see <see cref="RetryWaits"/>).
    /// Fan-out items and compensations always wait in memory.
    /// </param>
    public async Task<string?> RunAsync(
        string key,
        StepKind kind,
        Func<CancellationToken, Task<string?>> work,
        StepOptions? options,
        StepStatus finalFailure,
        CancellationToken cancellationToken,
        CancellationToken? stopToken = null,
        bool mayWaitDurably = false)
    {
        state.Stored.TryGetValue(key, out var stored);
        if (stored?.Status == StepStatus.Succeeded)
        {
            return stored.Result;
        }

        if (stored?.Status == StepStatus.DeadLettered)
        {
            throw new StepFailedException(key, stored.Error ?? "dead-lettered", stored.ErrorType);
        }

        // A step that failed for good was thrown to the workflow, which may have gone on from it (caught it and ran a fallback):
        // a resumed run, or a replay that collects compensations, gets the same StepFailedException at the same call (before:
        // it ran the step again, and a success sent the replay down the other branch). A retry of the run reopens the step its
        // failure names (StoredValues.ReopenFailed), which then runs again. A step cut off by a cancel (its last attempt
        // cancelled) runs again where it is reached, as before: what the workflow saw was the cancel, not the step's outcome.
        // A failed compensation is retried by its runner.
        if (stored?.Status == StepStatus.Failed && kind != StepKind.Compensation && !await state.WasCutOffAsync(key).ConfigureAwait(false))
        {
            throw new StepFailedException(key, stored.Error ?? "failed", stored.ErrorType);
        }

        if (state.ReplayOnly && kind != StepKind.Compensation)
        {
            throw new Compensation.CompensationReplayStop();
        }

        var engine = state.Engine;
        var workflow = state.Definition.Name;
        var policy = options?.Retry ?? state.Definition.Options.Retry;
        var timeout = options?.Timeout ?? state.Definition.Options.StepTimeout;
        var attempt = stored?.Attempts ?? 0;
        using var scope = engine.Logger.BeginScope(new LogScope(KeyValuePair.Create("Step", (object?)key)));
        var stop = stopToken ?? state.Active.AnyToken;
        // A linked source only when the caller's token adds something to the stop token: a workflow without a run timeout
        // that passes on the token it was given passes the execution's own.
        using var runStop = cancellationToken.CanBeCanceled && cancellationToken != stop ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop) : null;
        var runToken = runStop?.Token ?? stop;
        state.StepStarted();
        try
        {
            // The previous step's held end is stored before this step's body can act on anything.
            await state.FlushHeldAsync().ConfigureAwait(false);
            var retryWaits = new RetryWaits(state, key, policy, mayWaitDurably);
            // A run resumed between two attempts waits out the rest of the stored backoff before the next one.
            await retryWaits.ResumeAsync(stored, runToken).ConfigureAwait(false);
            while (true)
            {
                // No new attempt once the run is cancelled, interrupted or past its deadline.
                runToken.ThrowIfCancellationRequested();
                attempt++;
                var startedAt = engine.Time.GetUtcNow();
                using var startWrite = new DeferredAttemptStart(
                    state, new AttemptStartedRequest { RunId = state.RunId, Owner = engine.Owner, StepKey = key, Kind = kind, Attempt = attempt, StartedAt = startedAt });

                // The attempt's own source only for a timeout, which stops this attempt alone.
                using var attemptSource = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(runToken);
                using var timeoutSource = timeout is { } limit ? new CancellationTokenSource(limit, engine.Time) : null;
                using var timeoutLink = timeoutSource?.Token.Register(static s => ((CancellationTokenSource)s!).Cancel(), attemptSource);
                Exception? error = null;
                string? result = null;
                // The step's code runs inside the attempt's span: what it calls out to is a child of it.
                var span = BatonTracing.StartAttempt(state.RunId, workflow, key, attempt);
                try
                {
                    result = await work(attemptSource?.Token ?? runToken).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    error = ex;
                }

                BatonTracing.End(span, AttemptOutcomeName(error, runToken, timeoutSource), error);

                var endedAt = engine.Time.GetUtcNow();
                // The end write records the whole attempt; if the start was already sent, it goes first.
                await startWrite.SettleAsync().ConfigureAwait(false);
                if (error is null)
                {
                    var succeeded = Ended(key, kind, attempt, startedAt, endedAt, StepStatus.Succeeded, result);
                    // A step the workflow awaits alone may leave its end to the run's next write (see ExecutionState.TryHold).
                    if (!(kind == StepKind.Step && mayWaitDurably && state.TryHold(succeeded)))
                    {
                        await state.EndAttemptAsync(succeeded).ConfigureAwait(false);
                    }

                    engine.Metrics.StepDuration.Record((endedAt - startedAt).TotalSeconds, new("workflow", workflow), new("outcome", "succeeded"));
                    state.Stored[key] = new StepRecord { RunId = state.RunId, Key = key, Kind = kind, Status = StepStatus.Succeeded, Result = result, Attempts = attempt, StartedAt = stored?.StartedAt ?? startedAt, CompletedAt = endedAt };
                    return result;
                }

                var attemptRecord = Ended(key, kind, attempt, startedAt, endedAt);
                if (runToken.IsCancellationRequested)
                {
                    // An interrupted attempt leaves its step running: the run resumes there, here or on another node. A cancel,
                    // the run's timeout or the workflow's own token cut it off: the step ends failed (before, it showed
                    // "running" under an ended run for ever). A later execution that reaches it again runs it again either way.
                    var interrupted = state.Active.Interrupted;
                    state.Observe(engine.Steps.RecordAttemptEndedAsync(attemptRecord with
                    {
                        Outcome = interrupted ? AttemptOutcome.Interrupted : AttemptOutcome.Cancelled,
                        StepStatus = interrupted ? null : StepStatus.Failed,
                        ErrorType = error.GetType().FullName,
                        ErrorMessage = ExecutionState.ErrorText(error.Message),
                    }, CancellationToken.None));
                    if (error is OperationCanceledException)
                    {
                        ExceptionDispatchInfo.Throw(error);
                    }

                    throw new OperationCanceledException($"step '{key}' stopped: {error.Message}", error, runToken);
                }

                var timedOut = timeoutSource?.IsCancellationRequested == true;
                if (timedOut)
                {
                    error = new StepTimeoutException(key, timeout!.Value);
                }

                var failed = attemptRecord with
                {
                    Outcome = timedOut ? AttemptOutcome.TimedOut : AttemptOutcome.Failed,
                    ErrorType = error.GetType().FullName,
                    ErrorMessage = ExecutionState.ErrorText(error.Message),
                };
                engine.Metrics.StepDuration.Record((endedAt - startedAt).TotalSeconds, new("workflow", workflow), new("outcome", "failed"));
                var retryAt = policy.NextRetryAt(endedAt, attempt, error, engine.Jitter.Draw(state.RunId, key, attempt));
                if (retryAt is { } at)
                {
                    engine.Metrics.Retries.Add(1, new KeyValuePair<string, object?>("workflow", workflow));
                    Log.StepRetrying(engine.Logger, key, attempt, at - endedAt, error.GetType().FullName ?? error.GetType().Name, error.Message);
                    // The due time is stored with the failed attempt: a run resumed before it waits for it, a Retry-After included.
                    await retryWaits.WaitAsync(failed with { RetryAt = at }, stored?.StartedAt ?? startedAt, at, runToken).ConfigureAwait(false);
                    continue;
                }

                await state.EndAttemptAsync(failed with { StepStatus = finalFailure }).ConfigureAwait(false);
                state.Stored[key] = new StepRecord
                {
                    RunId = state.RunId, Key = key, Kind = kind, Status = finalFailure, Error = failed.ErrorMessage, ErrorType = failed.ErrorType,
                    Attempts = attempt, StartedAt = stored?.StartedAt ?? startedAt, CompletedAt = endedAt,
                };
                Log.StepFailed(engine.Logger, error, key, attempt, error.Message);
                throw new StepFailedException(key, error.Message, error.GetType().FullName, error);
            }
        }
        finally
        {
            state.StepEnded();
        }
    }

    /// <summary>An attempt's end, as succeeded; the other outcomes are copies of it with their outcome and error.</summary>
    private AttemptEndedRequest Ended(string key, StepKind kind, int attempt, DateTimeOffset startedAt, DateTimeOffset endedAt, StepStatus? status = null, string? result = null) => new()
    {
        RunId = state.RunId, Owner = state.Engine.Owner, StepKey = key, Kind = kind, Attempt = attempt,
        StartedAt = startedAt, EndedAt = endedAt, Outcome = AttemptOutcome.Succeeded, StepStatus = status, Result = result,
    };

    private string AttemptOutcomeName(Exception? error, CancellationToken runToken, CancellationTokenSource? timeoutSource) =>
        error is null ? "succeeded"
        : runToken.IsCancellationRequested ? (state.Active.Interrupted ? "interrupted" : "cancelled")
        : timeoutSource?.IsCancellationRequested == true ? "timed_out"
        : "failed";
}
