using System.Text.Json;
using Baton.Compensation;
using Baton.Runs;
using Baton.Steps;
using Baton.Storage;
using Baton.Timers;
using Baton.Workers;
using Baton.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Children;

/// <summary>
/// Awaited child runs of one execution. A child is a step of kind <see cref="StepKind.Child"/> keyed
/// <c>child:{workflow}</c> (then <c>#2</c>...); the child run is created through the node's admission with the
/// idempotency key <c>child:{parent run id}:{step key}</c>, so a resumed parent finds the same child instead of
/// starting a second one. While the child is active and no step of the parent is in flight the parent suspends,
/// giving its lease and slot back; the child's end stores an event for the parent that makes it due at once.
/// </summary>
internal sealed class ChildRuns(ExecutionState state)
{
    /// <summary>
    /// A suspended parent also looks at its child, in case the child's end was stored but the node died (or the store
    /// failed) before its wake-up event was: at first after this long, then after as long as the child has existed
    /// (<see cref="RecheckAt"/>).
    /// </summary>
    internal static readonly TimeSpan RecheckInterval = TimeSpan.FromMinutes(5);

    /// <summary>The longest a suspended parent goes without looking at its child.</summary>
    internal static readonly TimeSpan MaxRecheckInterval = TimeSpan.FromHours(1);

    // While steps of the same execution are in flight the parent cannot suspend; it looks at the child this often.
    private static readonly TimeSpan InMemoryRecheck = TimeSpan.FromSeconds(1);

    /// <summary>The idempotency key of the child that step <paramref name="stepKey"/> of run <paramref name="parentRunId"/> starts.</summary>
    internal static string IdempotencyKey(string parentRunId, string stepKey) => $"child:{parentRunId}:{stepKey}";

    public Task<TOutput> RunAsync<TOutput>(string workflowName, object? input, ChildRunOptions? options, CancellationToken cancellationToken) =>
        RunAsync<object?, TOutput>(workflowName, input, options, cancellationToken);

    public async Task<TOutput> RunAsync<TInput, TOutput>(string workflowName, TInput input, ChildRunOptions? options, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(workflowName);
        var key = state.NextKey("child:" + workflowName);
        var engine = state.Engine;
        state.Stored.TryGetValue(key, out var stored);
        if (stored?.Status == StepStatus.Succeeded)
        {
            return state.Deserialize<TOutput>(key, stored.Result);
        }

        var worker = engine.Services.GetRequiredService<Worker>();
        var signal = engine.Services.GetRequiredService<WorkSignal>();
        if (state.ReplayOnly)
        {
            if (state.Active.Run.CancelRequested || state.Active.CancelRequested)
            {
                await state.StoreAsync(() => ChildWakeups.CancelChildrenAsync(engine, worker, signal, state.RunId)).ConfigureAwait(false);
            }

            // A child failure the parent saw is thrown again, as on resume, so the replay follows the parent's catch to the
            // compensations of what it did instead (before: the replay stopped here and those were never run).
            if (stored?.Status == StepStatus.Failed && await state.StoreAsync(() => FindChildAsync(key)).ConfigureAwait(false) is { Status: not RunStatus.Succeeded } failed
                && failed.Status.IsTerminal())
            {
                throw new ChildRunFailedException(failed.Id, failed.Status, failed.Failure);
            }

            throw new CompensationReplayStop();
        }

        // Checked before anything is stored: a child that cannot start fails the parent with nothing left running.
        var (definition, read) = Resolve(workflowName, input);
        // At work until it returns, throws or sleeps in memory: a suspension of the run waits for it (ExecutionState.WaitAtRest),
        // so a child end this call takes after another wait suspended makes the run due at once.
        state.WaitAtWork();
        var took = false;
        try
        {
            var startedAt = stored?.StartedAt ?? await StartStepAsync(key).ConfigureAwait(false);
            var childId = await AdmitAsync(worker, key, definition, read, options, cancellationToken).ConfigureAwait(false);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, state.Active.AnyToken);
            var staleTaken = false;
            while (true)
            {
                if (linked.Token.IsCancellationRequested)
                {
                    if (state.Active.CancelRequested)
                    {
                        await state.StoreAsync(() => ChildWakeups.CancelChildrenAsync(engine, worker, signal, state.RunId)).ConfigureAwait(false);
                    }

                    linked.Token.ThrowIfCancellationRequested();
                }

                var child = await state.StoreAsync(() => engine.Runs.GetRunAsync(childId, CancellationToken.None)).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"child run {childId} of step '{key}' no longer exists");
                if (child.Status.IsTerminal())
                {
                    took = true;
                    return await EndAsync<TOutput>(key, startedAt, child).ConfigureAwait(false);
                }

                if (state.InFlight == 0)
                {
                    if (!staleTaken)
                    {
                        // The wake-ups of the child's earlier ends (before a retry) that no step took would wake this suspension at
                        // once, and again each time, until the child ended: taken first, then the child is read again, so an end
                        // stored meanwhile is seen here or wakes the suspension.
                        await TakeStaleWakeupsAsync(childId, key).ConfigureAwait(false);
                        staleTaken = true;
                        continue;
                    }

                    throw state.Suspend(RecheckAt(engine.Time.GetUtcNow(), child), ChildWakeups.EventName(childId));
                }

                using (state.RestingOn(ChildWakeups.EventName(childId), RecheckAt(engine.Time.GetUtcNow(), child)))
                {
                    await state.RestAsync(InMemoryRecheck, linked.Token).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            state.WaitAtRest(took);
        }
    }

    /// <summary>
    /// When a parent suspended on <paramref name="child"/> looks at it again if no wake-up comes: after as long as the child
    /// has existed, from <see cref="RecheckInterval"/> to <see cref="MaxRecheckInterval"/>. The wake-up is lost only if a node
    /// dies (or the store fails) right after the child's end, so a long child need not cost its parent an execution every
    /// 5 minutes: before, a parent waiting 10 hours on its child looked at it about 120 times (and so did one whose
    /// <c>Task.WhenAny</c> left a child running, review 55), each an execution; now 13 times.
    /// </summary>
    internal static DateTimeOffset RecheckAt(DateTimeOffset now, RunRecord child) =>
        now + TimeSpan.FromTicks(Math.Clamp((now - child.CreatedAt).Ticks, RecheckInterval.Ticks, MaxRecheckInterval.Ticks));

    /// <summary>
    /// Throws, as a call would, if a child of <paramref name="workflowName"/> cannot start with one of <paramref name="inputs"/>:
    /// <c>RunChildrenAsync</c> checks them all before it starts any, so a bad input leaves no child running.
    /// </summary>
    public void CheckAll<TInput>(string workflowName, IEnumerable<TInput> inputs)
    {
        if (state.ReplayOnly)
        {
            return;
        }

        foreach (var input in inputs)
        {
            Resolve(workflowName, input);
        }
    }

    /// <summary>The child's workflow and its input as the workflow reads it; throws if either does not fit.</summary>
    private (WorkflowDefinition Definition, RunInput Input) Resolve<TInput>(string workflowName, TInput input)
    {
        var engine = state.Engine;
        var definition = engine.Services.GetRequiredService<WorkflowRegistry>().Find(workflowName)
            ?? throw new Retries.NonRetryableException($"no workflow named '{workflowName}' is registered on node {engine.Owner}");
        using var document = JsonSerializer.SerializeToDocument(input, engine.Json);
        return definition.TryReadInput(document.RootElement, engine.InputJson, out var read, out var error)
            ? (definition, read)
            : throw new Retries.NonRetryableException($"the input of child workflow '{workflowName}' does not fit: {error.Message}", error);
    }

    /// <summary>Creates the child, or finds the one this step created before; returns its id.</summary>
    private async Task<string> AdmitAsync(Worker worker, string key, WorkflowDefinition definition, RunInput read, ChildRunOptions? options, CancellationToken cancellationToken)
    {
        var engine = state.Engine;
        var workflowName = definition.Name;
        if (RunKeys.ConcurrencyKeyProblem(options?.ConcurrencyKey) is { } keyProblem)
        {
            throw new Retries.NonRetryableException($"child workflow '{workflowName}' cannot start: the concurrency key {keyProblem}");
        }

        var origin = new RunOrigin
        {
            Now = engine.Time.GetUtcNow(),
            IdempotencyKey = IdempotencyKey(state.RunId, key),
            ConcurrencyKey = options?.ConcurrencyKey,
            CorrelationId = options?.CorrelationId ?? state.Active.Run.CorrelationId,
            ParentRunId = state.RunId,
        };
        var result = await state.StoreAsync(() => worker.AdmitAsync(definition, read, origin, engine.Runs.CreateRunAsync, static r => r, cancellationToken), cancellationToken).ConfigureAwait(false);
        return result.Outcome == CreateRunOutcome.Conflict
            ? throw new Retries.NonRetryableException($"child workflow '{workflowName}' cannot start: run {result.Run.Id} holds its concurrency key")
            : result.Run.Id;
    }

    /// <summary>The child step <paramref name="key"/> of this run started, or null.</summary>
    private async Task<RunRecord?> FindChildAsync(string key)
    {
        var idempotencyKey = IdempotencyKey(state.RunId, key);
        await foreach (var child in ChildWakeups.ChildrenAsync(state.Engine, state.RunId, CancellationToken.None).ConfigureAwait(false))
        {
            if (child.IdempotencyKey == idempotencyKey)
            {
                return child;
            }
        }

        return null;
    }

    /// <summary>Marks every wake-up event of <paramref name="childId"/> that no step took as taken (each under a key of its own).</summary>
    private async Task TakeStaleWakeupsAsync(string childId, string key)
    {
        var engine = state.Engine;
        for (var i = 0; i < 100; i++)
        {
            var taken = await state.StoreAsync(() => engine.Events.ConsumeEventAsync(new ConsumeEventRequest
            {
                RunId = state.RunId, Owner = engine.Owner, Name = ChildWakeups.EventName(childId),
                StepKey = $"{key}:stale:{Guid.NewGuid():N}", Now = engine.Time.GetUtcNow(),
            }, CancellationToken.None)).ConfigureAwait(false);
            if (taken.Event is null)
            {
                return;
            }
        }
    }

    private async Task<DateTimeOffset> StartStepAsync(string key)
    {
        var engine = state.Engine;
        var now = engine.Time.GetUtcNow();
        var written = await state.StoreAsync(() => engine.Steps.RecordAttemptStartedAsync(new AttemptStartedRequest
        {
            RunId = state.RunId, Owner = engine.Owner, StepKey = key, Kind = StepKind.Child, Attempt = 1, StartedAt = now,
        }, CancellationToken.None)).ConfigureAwait(false);
        if (!written)
        {
            throw state.LeaseRefused();
        }

        state.Stored[key] = new StepRecord { RunId = state.RunId, Key = key, Kind = StepKind.Child, Status = StepStatus.Running, Attempts = 1, StartedAt = now };
        return now;
    }

    private async Task<TOutput> EndAsync<TOutput>(string key, DateTimeOffset startedAt, RunRecord child)
    {
        var engine = state.Engine;
        var now = engine.Time.GetUtcNow();
        var succeeded = child.Status == RunStatus.Succeeded;
        var error = succeeded ? null : new ChildRunFailedException(child.Id, child.Status, child.Failure);
        var result = succeeded ? child.Output ?? "null" : null;
        // The wake-up event is taken by this step, so the run's events show it as handled.
        await state.StoreAsync(() => engine.Events.ConsumeEventAsync(new ConsumeEventRequest
        {
            RunId = state.RunId, Owner = engine.Owner, Name = ChildWakeups.EventName(child.Id), StepKey = key, Now = now,
        }, CancellationToken.None)).ConfigureAwait(false);
        await state.EndAttemptAsync(new AttemptEndedRequest
        {
            RunId = state.RunId, Owner = engine.Owner, StepKey = key, Kind = StepKind.Child, Attempt = 1, StartedAt = startedAt, EndedAt = now,
            Outcome = succeeded ? AttemptOutcome.Succeeded : AttemptOutcome.Failed, StepStatus = succeeded ? StepStatus.Succeeded : StepStatus.Failed,
            Result = result, ErrorType = error?.GetType().FullName, ErrorMessage = error?.Message,
        }).ConfigureAwait(false);
        state.Stored[key] = new StepRecord
        {
            RunId = state.RunId, Key = key, Kind = StepKind.Child, Status = succeeded ? StepStatus.Succeeded : StepStatus.Failed, Result = result,
            Error = error?.Message, ErrorType = error?.GetType().FullName, Attempts = 1, StartedAt = startedAt, CompletedAt = now,
        };
        return error is null ? state.Deserialize<TOutput>(result) : throw error;
    }
}
