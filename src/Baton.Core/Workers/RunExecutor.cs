using System.Text.Json;
using Baton.Compensation;
using Baton.Diagnostics;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;
using Baton.Timers;
using Baton.Workflows;
using Microsoft.Extensions.Logging;

namespace Baton.Workers;

/// <summary>
/// Executes one claimed run to its next resting point: success, failure (with compensation),
/// cancellation, suspension on a timer, or interruption (shutdown, lost lease).
/// </summary>
internal sealed class RunExecutor(WorkflowRegistry registry, EngineServices engine, WorkSignal signal)
{
    public async Task ExecuteAsync(ActiveRun active)
    {
        var run = active.Run;
        using var span = active.Span = BatonTracing.StartRun(run);
        using var scope = engine.Logger.BeginScope(new LogScope(
            KeyValuePair.Create("RunId", (object?)run.Id), KeyValuePair.Create("Workflow", (object?)run.Workflow), KeyValuePair.Create("CorrelationId", (object?)run.CorrelationId)));
        // A run created on this node brings its definition and input; a claimed one looks them up here, once.
        var definition = active.Definition ?? registry.Find(run.Workflow);
        if (definition is null)
        {
            Log.UnknownWorkflow(engine.Logger, run.Id, run.Workflow);
            await FinishAsync(active, null, RunStatus.Failed, null, new RunFailure { Message = $"workflow '{run.Workflow}' is not registered on node {engine.Owner}" }).ConfigureAwait(false);
            return;
        }

        Log.RunStarted(engine.Logger, run.Id, run.Workflow, run.Executions);
        // Steps are written only under a lease, so a run on its first claim has none: skip the read.
        IReadOnlyList<StepRecord> stored = [];
        if (run.Executions > 1)
        {
            try
            {
                stored = await engine.Steps.GetStepsAsync(run.Id).ConfigureAwait(false);
            }
            catch (Exception ex) when (ExecutionState.IsStoreError(ex, CancellationToken.None))
            {
                // As every other store call of an execution: logged (202), the execution stops and the run resumes when its
                // lease expires (before: the error left the executor and was logged as a crash of the execution, 304).
                Log.StoreWriteFailed(engine.Logger, ex, run.Id);
                active.Interrupt(leaseLost: true, storeFailed: true);
                BatonTracing.RunPaused(span, "store_failed");
                LogLeaseGivenUp(active);
                return;
            }
        }

        // A run resumed while compensating, or cancelled before this claim, is replayed only to collect the
        // compensations of its completed steps; the replay gets no cancel or deadline token, so it reaches them all.
        var replayOnly = run.Status == RunStatus.Compensating || run.CancelRequested;
        var context = new WorkflowContext(active, definition, engine, stored, replayOnly);
        if (replayOnly)
        {
            await ReplayAndCompensateAsync(active, definition, context).ConfigureAwait(false);
            return;
        }

        using var deadline = run.DeadlineAt is { } at ? new CancellationTokenSource(Max(at - engine.Time.GetUtcNow(), TimeSpan.Zero), engine.Time) : null;
        // Without a deadline the run's token is the execution's own: no linked source per run.
        using var runStop = deadline is null ? null : CancellationTokenSource.CreateLinkedTokenSource(active.AnyToken, deadline.Token);
        try
        {
            var output = await definition.Run(engine.Services, context, ReadInput(active, definition), runStop?.Token ?? active.AnyToken).ConfigureAwait(false);
            // The last step's end, if held, is stored with the run's end in one transaction.
            await FinishAsync(active, context, RunStatus.Succeeded, JsonSerializer.Serialize(output, engine.Json), null).ConfigureAwait(false);
        }
        catch (SuspendRunException) when (run.DeadlineAt is { } passed && passed <= engine.Time.GetUtcNow() && !active.Interrupted && !active.CancelRequested)
        {
            // Woken at its deadline, the run is not suspended again by a wait that would outlast it (before: a durable timer
            // longer than the RunTimeout suspended it at once, due now, execution after execution, never failing).
            await EndBadlyAsync(active, context, TimeoutFailure(active)).ConfigureAwait(false);
        }
        catch (SuspendRunException suspend)
        {
            // Every wait of this execution that suspended counts, not only the one the workflow's await threw.
            var (suspendedUntil, eventNames) = await context.SuspensionAsync(suspend).ConfigureAwait(false);
            Log.RunSuspended(engine.Logger, run.Id, suspendedUntil);
            BatonTracing.RunPaused(span, "suspended");
            // A run with a deadline wakes at it at the latest, to fail with its timeout (before: a run waiting for an event with
            // no timeout of its own outlived its RunTimeout for ever; one on a long timer until the timer woke it).
            var wakeAt = run.DeadlineAt is { } deadlineAt && deadlineAt < suspendedUntil ? deadlineAt : suspendedUntil;
            // Only an event this execution waits for makes the run due before wakeAt (another is taken when the run reaches it).
            if (await WriteAsync(active, context, RunStatus.Suspended, releaseLease: true, runAfter: wakeAt, wakesOn: eventNames).ConfigureAwait(false))
            {
                if (wakeAt <= engine.Time.GetUtcNow())
                {
                    // Due at once (a wait took its event after another suspended): claimed again without waiting for a poll.
                    signal.Notify();
                }

                foreach (var eventName in eventNames)
                {
                    await Events.EventWakeups.AfterSuspendAsync(engine, signal, run.Id, eventName).ConfigureAwait(false);
                }
            }
        }
        catch (Exception) when (active.Interrupted)
        {
            await InterruptedAsync(active, context).ConfigureAwait(false);
        }
        catch (Exception) when (active.CancelRequested)
        {
            await EndBadlyAsync(active, context, CancelledFailure()).ConfigureAwait(false);
        }
        catch (Exception) when (deadline?.IsCancellationRequested == true)
        {
            await EndBadlyAsync(active, context, TimeoutFailure(active)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var failure = ex switch
            {
                StepFailedException step => new RunFailure { Message = ExecutionState.ErrorText(step.Message), ErrorType = step.ErrorType, Step = step.StepKey },
                Children.ChildRunFailedException { AlsoFailed.Count: > 0 } child => new RunFailure
                {
                    Message = ExecutionState.ErrorText(ex.Message), ErrorType = ex.GetType().FullName, ChildRuns = [child.ChildRunId, .. child.AlsoFailed],
                },
                // A wait's failure names the wait: a retry of the run waits for its event again (StoredValues.ReopenFailed).
                _ => new RunFailure
                {
                    Message = ExecutionState.ErrorText(ex.Message), ErrorType = ex.GetType().FullName,
                    Step = ex switch { Events.EventTimeoutException timeout => timeout.StepKey, Events.EventPayloadException unreadable => unreadable.StepKey, _ => null },
                },
            };
            Log.RunFailed(engine.Logger, ex, run.Id, failure.Step, failure.Message);
            await EndBadlyAsync(active, context, failure).ConfigureAwait(false);
        }
    }

    /// <summary>How long a run that ends badly waits for the steps it stopped (a step that ignores its token) before it goes on.</summary>
    internal static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The failure of a run past its deadline, told by the deadline stored with the run: before, by the RunTimeout of the code
    /// executing it, so a v1 run held to v1's 1 h by v2 code with a 5 h RunTimeout said "after 18000 s".
    /// </summary>
    private static RunFailure TimeoutFailure(ActiveRun active) => new()
    {
        Message = new RunTimeoutException(active.Run.DeadlineAt!.Value, active.Run.CreatedAt).Message, ErrorType = typeof(RunTimeoutException).FullName,
    };

    private async Task ReplayAndCompensateAsync(ActiveRun active, WorkflowDefinition definition, WorkflowContext context)
    {
        try
        {
            await definition.Run(engine.Services, context, ReadInput(active, definition), active.InterruptToken).ConfigureAwait(false);
        }
        catch (Exception) when (!active.Interrupted)
        {
            // CompensationReplayStop at the first incomplete step, or the workflow's own error: either way the
            // compensations registered so far are those of every step that completed before it.
        }
        catch (Exception)
        {
            await InterruptedAsync(active, context).ConfigureAwait(false);
            return;
        }

        await EndBadlyAsync(active, context, active.Run.Failure ?? CancelledFailure()).ConfigureAwait(false);
    }

    private object? ReadInput(ActiveRun active, WorkflowDefinition definition)
    {
        if (active.Input is { } read)
        {
            return read.Value;
        }

        var run = active.Run;
        try
        {
            if (run.Input is null)
            {
                return definition.ReadInput(null, engine.Json);
            }

            // Disposed: the document's buffers go back to the pool (the input is read into its own object).
            using var document = JsonDocument.Parse(run.Input);
            return definition.ReadInput(document.RootElement, engine.Json);
        }
        catch (JsonException ex)
        {
            throw new Retries.NonRetryableException($"input does not fit {definition.Descriptor.InputType.Name}: {ex.Message}", ex);
        }
    }

    private static RunFailure CancelledFailure() => RunFailure.CancelledByRequest();

    /// <summary>Fails or cancels the run; first runs the compensations of its completed steps, newest first.</summary>
    private async Task EndBadlyAsync(ActiveRun active, WorkflowContext context, RunFailure failure)
    {
        // A run resumed while compensating ends as it began to: a cancel requested meanwhile is recorded and changes nothing
        // (before: the compensations of a failed run resumed on another node ended it cancelled, on its own node compensated).
        var cancelled = active.Run.Status == RunStatus.Compensating
            ? active.Run.Failure is { Message: RunFailure.CancelledByRequestMessage, Step: null, ErrorType: null }
            : active.CancelRequested || active.Run.CancelRequested;
        // Steps still running beside the failure are stopped, and their outcomes awaited: one that completes registers its
        // compensation first (before: it completed after the run had ended, and was never compensated). A step that ignores
        // its token is waited for StopGrace at most, then left (logged): the run does not hang on it.
        active.StopWork();
        var settled = context.OutcomesSettledAsync();
        if (!settled.IsCompleted)
        {
            try
            {
                await settled.WaitAsync(StopGrace, engine.Time, active.InterruptToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.StepsLeftRunning(engine.Logger, active.RunId, StopGrace.TotalSeconds);
            }
            catch (OperationCanceledException) when (active.Interrupted)
            {
                // Shutdown or a lost lease while waiting: the run is left to its next owner, as at any other point.
                await InterruptedAsync(active, context).ConfigureAwait(false);
                return;
            }
        }

        var compensations = context.Compensations;
        if (compensations.Count == 0)
        {
            await FinishAsync(active, context, cancelled ? RunStatus.Cancelled : RunStatus.Failed, null, failure).ConfigureAwait(false);
            return;
        }

        // A run retried after its compensation failed keeps its failure (the store keeps it), less what the last try left.
        failure = failure with { SagaState = RunStatus.Compensating.ToWireName(), CompensationStep = null, CompensationError = null };
        if (active.Run.Status != RunStatus.Compensating)
        {
            await WriteAsync(active, context, RunStatus.Compensating, releaseLease: false, failure: failure).ConfigureAwait(false);
        }

        Log.Compensating(engine.Logger, active.RunId, compensations.Count);
        CompensationFailure? failed;
        try
        {
            failed = await context.Compensation.RunAllAsync(compensations).ConfigureAwait(false);
        }
        catch (Exception) when (active.Interrupted)
        {
            await InterruptedAsync(active, context).ConfigureAwait(false);
            return;
        }

        if (failed is not null)
        {
            Log.CompensationFailed(engine.Logger, failed.Exception, active.RunId, failed.Step, failed.Exception.Message);
            await FinishAsync(active, context, RunStatus.CompensationFailed, null, failure with
            {
                SagaState = RunStatus.CompensationFailed.ToWireName(), CompensationStep = failed.Step, CompensationError = ExecutionState.ErrorText(failed.Exception.Message),
            }).ConfigureAwait(false);
            return;
        }

        await FinishAsync(active, context, cancelled ? RunStatus.Cancelled : RunStatus.Compensated, null, failure with { SagaState = RunStatus.Compensated.ToWireName() }).ConfigureAwait(false);
    }

    private async Task FinishAsync(ActiveRun active, WorkflowContext? context, RunStatus status, string? output, RunFailure? failure)
    {
        var written = await WriteAsync(active, context, status, releaseLease: true, output, failure, continuesBriefly: EndsBriefly(active, engine.Logger)).ConfigureAwait(false);
        if (written)
        {
            BatonTracing.RunEnded(active.Span, status, failure);
            engine.Metrics.RunCompleted(active.Run.Workflow, status);
            Log.RunEnded(engine.Logger, active.RunId, status.ToWireName());
            if (active.Run.ParentRunId is not null)
            {
                await Children.ChildWakeups.ChildEndedAsync(engine, signal, active.Run).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Whether nothing of the user's runs once the run's final write is stored: no span to end (nothing listens to Baton's
    /// traces), no Information line to write and no parent to wake. What is left (metrics, the slot's release, the end
    /// signal) is brief, so the store may go on with it on its writer thread (<see cref="UpdateRunRequest.ContinuesBriefly"/>).
    /// </summary>
    internal static bool EndsBriefly(ActiveRun active, ILogger logger) =>
        active.Span is null && active.Run.ParentRunId is null && !logger.IsEnabled(LogLevel.Information);

    private async Task InterruptedAsync(ActiveRun active, WorkflowContext context)
    {
        if (active.LeaseLost)
        {
            BatonTracing.RunPaused(active.Span, active.StoreFailed ? "store_failed" : "lease_lost");
            LogLeaseGivenUp(active);
            return;
        }

        BatonTracing.RunPaused(active.Span, "interrupted");

        // Shutdown: keep the status, write the progress, give the lease back so any node resumes it at once.
        await WriteAsync(active, context, status: null, releaseLease: true).ConfigureAwait(false);
        Log.RunInterrupted(engine.Logger, active.RunId);
    }

    /// <summary>
    /// Writes a run update with the latest progress and the step end the execution holds, if any (one transaction, so
    /// the step's result is stored before the run's end, suspension or compensation is); false (and the run marked
    /// lost) if the lease is gone, in which case neither was stored and the next owner runs the step again.
    /// </summary>
    /// <remarks>The request is made here, once, from its parts (a record copied per write showed in the allocation profile).</remarks>
    private async Task<bool> WriteAsync(
        ActiveRun active, WorkflowContext? context, RunStatus? status, bool releaseLease, string? output = null, RunFailure? failure = null,
        DateTimeOffset? runAfter = null, bool continuesBriefly = false, IReadOnlyList<string>? wakesOn = null)
    {
        bool written;
        Exception? storeFailure = null;
        try
        {
            var held = context is null ? null : await context.TakeHeldStepEndAsync().ConfigureAwait(false);
            // Always the full snapshot: a concurrent progress flush may have cleared the dirty flag and then lost the race.
            var progress = active.Progress.TakeSnapshot(onlyIfDirty: false)!;
            var request = new UpdateRunRequest
            {
                RunId = active.RunId, Owner = engine.Owner, Now = engine.Time.GetUtcNow(), Status = status, Output = output, Failure = failure,
                RunAfter = runAfter, ReleaseLease = releaseLease, WakesOn = wakesOn,
                Phase = progress.Phase, Progress = progress.Counters, Errors = progress.Errors, EndedAttempt = held,
                ContinuesBriefly = continuesBriefly,
            };
            written = await engine.Runs.UpdateRunAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (LeaseLostException)
        {
            // The held step end was being stored when this write began, and was refused: nothing more to write.
            written = false;
        }
        catch (Exception ex)
        {
            // The store is unreachable: whether the lease still holds is unknown, so the run is left to the next owner
            // (this node again, once the lease has expired and the store answers) rather than marked failed.
            storeFailure = ex;
            written = false;
        }

        if (!written)
        {
            if (continuesBriefly)
            {
                // Off the store's writer thread: the interrupt runs the token's callbacks and the log lines reach the
                // user's providers, neither of them brief for sure.
                await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            }

            if (storeFailure is not null)
            {
                Log.StoreWriteFailed(engine.Logger, storeFailure, active.RunId);
            }

            active.Interrupt(leaseLost: true, storeFailed: storeFailure is not null);
            LogLeaseGivenUp(active);
        }

        return written;
    }

    /// <summary>"Another node carries on" only when the store refused the write; a failed write leaves the run to whoever claims it after its lease.</summary>
    private void LogLeaseGivenUp(ActiveRun active)
    {
        if (active.StoreFailed)
        {
            Log.StoppedOnStoreFailure(engine.Logger, active.RunId);
        }
        else
        {
            Log.LeaseLost(engine.Logger, active.RunId);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
