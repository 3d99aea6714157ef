using System.Text.Json;
using Baton.Events;
using Baton.Storage;
using Baton.Workers;
using Baton.Workflows;

namespace Baton.Runs;

internal sealed class BatonClient(WorkflowRegistry registry, EngineServices engine, WorkSignal signal, Worker worker) : IBatonClient
{
    private readonly Func<CreateRunRequest, CancellationToken, Task<CreateRunResult>> _create = engine.Runs.CreateRunAsync;

    public async Task<StartRunResult> StartRunAsync(StartRunRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Refusal(registry, engine, request, out var admission) is { } refused)
        {
            return refused;
        }

        var result = await worker.AdmitAsync(admission.Definition, admission.Input, admission.Origin, _create, static r => r, cancellationToken).ConfigureAwait(false);
        var outcome = result.Outcome switch
        {
            CreateRunOutcome.Created => StartRunOutcome.Created,
            CreateRunOutcome.Existing => StartRunOutcome.Existing,
            _ => StartRunOutcome.Conflict,
        };
        return new StartRunResult(outcome, result.Run.ToInfo(), outcome == StartRunOutcome.Conflict ? ConflictError(result.Run.Id) : null);
    }

    /// <summary>The error of a start refused because run <paramref name="holderId"/> holds the concurrency key.</summary>
    internal static string ConflictError(string holderId) => $"run {holderId} is already active for this concurrency key";

    /// <summary>
    /// Why a start cannot be stored (an unknown workflow, input that does not fit, a too long idempotency key), as
    /// the result to answer with; null when it can, with the run to admit in <paramref name="admission"/>.
    /// </summary>
    internal static StartRunResult? Refusal(WorkflowRegistry registry, EngineServices engine, StartRunRequest request, out Admission admission)
    {
        admission = default;
        if (registry.Find(request.Workflow) is not { } definition)
        {
            return new StartRunResult(StartRunOutcome.UnknownWorkflow, null, $"no workflow named '{request.Workflow}' is registered");
        }

        if (!definition.TryReadInput(request.Input, engine.InputJson, out var input, out var error))
        {
            return new StartRunResult(StartRunOutcome.InvalidInput, null, error.Message);
        }

        if (request.IdempotencyKey is { Length: > RunLimits.MaxIdempotencyKeyLength })
        {
            return new StartRunResult(StartRunOutcome.InvalidInput, null, $"the idempotency key is longer than {RunLimits.MaxIdempotencyKeyLength} characters");
        }

        if (StoredText.HasNul(request.IdempotencyKey) || StoredText.HasNul(request.CorrelationId))
        {
            return new StartRunResult(StartRunOutcome.InvalidInput, null, "the idempotency key and correlation id cannot hold the character U+0000");
        }

        if (StoredText.HasHalfSurrogatePair(request.IdempotencyKey) || StoredText.HasHalfSurrogatePair(request.CorrelationId))
        {
            return new StartRunResult(StartRunOutcome.InvalidInput, null,
                "the idempotency key and correlation id cannot hold " + StoredText.HalfSurrogatePair);
        }

        if (RunKeys.ConcurrencyKeyProblem(request.ConcurrencyKey) is { } keyProblem)
        {
            return new StartRunResult(StartRunOutcome.InvalidInput, null, "the concurrency key " + keyProblem);
        }

        var origin = new RunOrigin
        {
            Now = engine.Time.GetUtcNow(), RunAfter = request.RunAfter, IdempotencyKey = request.IdempotencyKey,
            ConcurrencyKey = request.ConcurrencyKey, CorrelationId = request.CorrelationId,
        };
        admission = new Admission(definition, input, origin);
        return null;
    }

    public async Task<RunDetails?> GetRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (StoredText.NamesNothing(runId))
        {
            return null;
        }

        var run = await engine.Runs.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            return null;
        }

        var steps = await engine.Steps.GetStepsAsync(runId, cancellationToken).ConfigureAwait(false);
        var attempts = await engine.Steps.GetAttemptsAsync(runId, cancellationToken).ConfigureAwait(false);
        var events = await engine.Events.GetEventsAsync(runId, cancellationToken).ConfigureAwait(false);
        var children = await engine.Runs.ListRunsAsync(new ListRunsRequest { ParentRunId = runId, Limit = RunLimits.MaxPageSize }, cancellationToken).ConfigureAwait(false);
        return RunViews.ToDetails(run, steps, attempts) with
        {
            Events = events.Select(RunViews.ToInfo).ToList(),
            Children = children.Runs.Select(c => new ChildRunInfo(c.Id, c.Workflow, c.Status)).ToList(),
            ChildrenNextCursor = children.NextCursor,
        };
    }

    public async Task<RunInfo?> GetRunInfoAsync(string runId, CancellationToken cancellationToken = default) =>
        StoredText.NamesNothing(runId) ? null : (await engine.Runs.GetRunAsync(runId, cancellationToken).ConfigureAwait(false))?.ToInfo();

    public async Task<RunPage> ListRunsAsync(ListRunsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (StoredText.NamesNothing(request.Workflow) || StoredText.NamesNothing(request.ParentRunId) || StoredText.NamesNothing(request.Cursor))
        {
            return new RunPage([], null);
        }

        return (await engine.Runs.ListRunsAsync(WithIdBounds(request), cancellationToken).ConfigureAwait(false)).ToPage();
    }

    /// <summary>
    /// The id bounds that a creation-time filter implies (an id begins with its run's creation time, in the same clock
    /// reading as its created_at), widened by a minute on each side, so the store walks its id index over that span
    /// only. Before: a filter few runs matched read every run newer than them (1,000,000 runs: see BENCHMARKS.md).
    /// </summary>
    internal static ListRunsRequest WithIdBounds(ListRunsRequest request) => request with
    {
        IdsFrom = request.IdsFrom ?? (request.CreatedAfter is { } after ? RunIds.LowestAt(Widen(after, -1)) : null),
        IdsBelow = request.IdsBelow ?? (request.CreatedBefore is { } before ? RunIds.LowestAt(Widen(before, 1)) : null),
    };

    private static DateTimeOffset Widen(DateTimeOffset time, int minutes) =>
        minutes < 0
            ? (time < DateTimeOffset.UnixEpoch.AddMinutes(1) ? DateTimeOffset.UnixEpoch : time.AddMinutes(minutes))
            : (time > DateTimeOffset.MaxValue.AddMinutes(-1) ? DateTimeOffset.MaxValue : time.AddMinutes(minutes));

    public Task<RunCounts> CountRunsAsync(CountRunsRequest request, CancellationToken cancellationToken = default) =>
        engine.Runs.CountRunsAsync(request, cancellationToken);

    public async Task<CancelRunResult> CancelRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (StoredText.NamesNothing(runId))
        {
            return new CancelRunResult(CancelRunOutcome.NotFound, null);
        }

        var result = await engine.Runs.CancelRunAsync(new CancelRunRequest(runId, engine.Time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        if (result.Outcome == CancelRunOutcome.Requested)
        {
            worker.CancelLocal(runId);
        }
        else if (result is { Outcome: CancelRunOutcome.Cancelled, Run: { } cancelled })
        {
            // Cancelled without executing (a pending run): no executor ends it, so it is counted, and its parent woken, here.
            engine.Metrics.RunCompleted(cancelled.Workflow, RunStatus.Cancelled);
            await Children.ChildWakeups.ChildEndedAsync(engine, signal, cancelled).ConfigureAwait(false);
        }

        // A retried parent pending again has its retried children pending beside it: they are cancelled with it (before, they
        // were claimed later and ran under a parent that stayed cancelled).
        if (Children.ChildWakeups.MayHaveChildren(result))
        {
            try
            {
                await Children.ChildWakeups.CancelChildrenAsync(engine, worker, signal, runId).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The parent's cancel is stored: its replay cancels the children it still has (later, once it gets a slot).
                Log.StoreWriteFailed(engine.Logger, ex, runId);
            }
        }

        if (result.Outcome == CancelRunOutcome.Requested)
        {
            signal.Notify();
        }

        return result.ToResult();
    }

    public async Task<RetryRunResult> RetryRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        var run = StoredText.NamesNothing(runId) ? null : await engine.Runs.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            return new RetryRunResult(RetryRunOutcome.NotFound, null);
        }

        // The children whose end ended the run are retried with it, in the same transaction, so its replay finds them
        // runnable: a cancel's cancelled children, and the child a failed child step awaited (its step gets one more attempt,
        // as a failed step does). Before: the replay found them ended again and the run failed at once; and the children of
        // a cancelled run were retried before the run itself, so a retry refused with 409 still ran them.
        var with = new List<RetryRunRequest>();
        await CollectEndedChildrenAsync(run, with, depth: 0, cancellationToken).ConfigureAwait(false);
        var result = await engine.Runs.RetryRunAsync(RetryRequest(run) with { With = with }, cancellationToken).ConfigureAwait(false);
        if (result.Outcome == RetryRunOutcome.Retried)
        {
            signal.Notify();
        }

        return result.ToResult();
    }

    /// <summary>
    /// The retry of <paramref name="run"/>: due now, its run timeout counted again from now. The timeout is that of the code
    /// that executes the run's version, when this node registers that version; otherwise (this node has another version of
    /// the workflow only, or none) the one the run was stored with, taken as its deadline less its creation: exact for a run
    /// started without a delay and not retried before, longer by the delay or the time up to the earlier retry otherwise.
    /// Before, it was the RunTimeout of whatever this node registered under the name: a v1 run retried on a v2 node got
    /// v2's, and on a node without the workflow none.
    /// </summary>
    private RetryRunRequest RetryRequest(RunRecord run)
    {
        var now = engine.Time.GetUtcNow();
        var timeout = registry.Find(run.Workflow, run.WorkflowVersion) is { } definition
            ? definition.Options.RunTimeout
            : run.DeadlineAt - run.CreatedAt;
        return new RetryRunRequest(run.Id, now, timeout is { } t ? now + t : null);
    }

    /// <summary>
    /// Adds to <paramref name="into"/> the children of <paramref name="parent"/> whose end ended it, and theirs: for a
    /// cancelled run, the cancelled children its steps still waited for; for a run failed by a child (its failure is the child's
    /// <see cref="Children.ChildRunFailedException"/>), that child, the failed children of the same <c>RunChildrenAsync</c>
    /// call (<see cref="RunFailure.ChildRuns"/>) and the failed ones its steps still waited for.
    /// A child failure the workflow caught and went on from to another step is not retried: what the run did next followed from it.
    /// </summary>
    private async Task CollectEndedChildrenAsync(RunRecord parent, List<RetryRunRequest> into, int depth, CancellationToken cancellationToken)
    {
        if (depth >= Children.ChildWakeups.MaxTreeDepth)
        {
            return;
        }

        var childFailure = parent is { Status: RunStatus.Failed, Failure.ErrorType: { } type } && type == typeof(Children.ChildRunFailedException).FullName;
        if (parent.Status != RunStatus.Cancelled && !childFailure)
        {
            return;
        }

        // The children its steps still waited for: the workflow never saw them end, so it cannot have gone on from their end
        // (a child step the workflow saw end is stored ended).
        var waited = (await engine.Steps.GetStepsAsync(parent.Id, cancellationToken).ConfigureAwait(false))
            .Where(s => s is { Kind: StepKind.Child, Status: StepStatus.Running })
            .Select(s => Children.ChildRuns.IdempotencyKey(parent.Id, s.Key))
            .ToHashSet(StringComparer.Ordinal);
        Func<RunRecord, bool> endedIt;
        if (!childFailure)
        {
            // Cancelled: the children its cancel cancelled.
            endedIt = child => child.Status == RunStatus.Cancelled && child.IdempotencyKey is { } key && waited.Contains(key);
        }
        else
        {
            // Failed by a child: the one its failure names, every failed child of the RunChildrenAsync call it failed in, and
            // those that failed or were cancelled while its steps still waited for them (a fan-out whose other children ended
            // after the run failed; before, each took a retry of its own). Another child failure the workflow saw is not
            // retried: whether it was caught and handled cannot be told from what is stored, and retrying a handled one would
            // send the replay down another branch.
            var message = parent.Failure!.Message;
            var ofTheCall = parent.Failure.ChildRuns?.ToHashSet(StringComparer.Ordinal);
            endedIt = child => child.Status is RunStatus.Failed or RunStatus.Cancelled
                && (message.StartsWith(Children.ChildRunFailedException.MessagePrefix(child.Id), StringComparison.Ordinal)
                    || ofTheCall?.Contains(child.Id) == true
                    || (child.IdempotencyKey is { } key && waited.Contains(key)));
        }

        await foreach (var child in Children.ChildWakeups.ChildrenAsync(engine, parent.Id, cancellationToken).ConfigureAwait(false))
        {
            if (endedIt(child))
            {
                into.Add(RetryRequest(child));
                await CollectEndedChildrenAsync(child, into, depth + 1, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task<EventSendResult> SendEventAsync(
        string runId, string name, JsonElement? payload, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        var json = payload is { ValueKind: not JsonValueKind.Undefined } p ? p.GetRawText() : null;
        var error = EventNames.Validate(name)
            ?? (idempotencyKey is { Length: 0 or > EventNames.MaxIdempotencyKeyLength }
                ? $"an event's idempotency key has 1 to {EventNames.MaxIdempotencyKeyLength} characters" : null)
            ?? (json is not null && EventNames.PayloadTooLarge(json) ? $"an event's payload is at most {EventNames.MaxPayloadLength} bytes of JSON" : null)
            ?? (payload is { } body && StoredJson.Problem(body) is { } problem ? "an event's payload " + problem : null)
            ?? (StoredText.HasNul(idempotencyKey) ? "an event's idempotency key cannot hold the character U+0000" : null)
            ?? (StoredText.HasHalfSurrogatePair(idempotencyKey) ? "an event's idempotency key cannot hold " + StoredText.HalfSurrogatePair : null);
        if (error is not null)
        {
            return new EventSendResult(EventSendOutcome.Invalid, null, error);
        }

        if (StoredText.NamesNothing(runId))
        {
            return new EventSendResult(EventSendOutcome.RunNotFound, null, "no run with that id");
        }

        var result = await engine.Events.SendEventAsync(
            new SendEventRequest { RunId = runId, Name = name, Payload = json, IdempotencyKey = idempotencyKey, Now = engine.Time.GetUtcNow() },
            cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case SendEventOutcome.Stored:
                signal.Notify();
                return new EventSendResult(EventSendOutcome.Stored, result.Event!.ToInfo());
            case SendEventOutcome.Existing when !string.Equals(result.Event!.Name, name, StringComparison.Ordinal):
                // Before: a 202 "duplicate" naming the event asked for, which was never stored (the run waited for it for ever).
                return new EventSendResult(EventSendOutcome.KeyUsedForAnotherEvent, result.Event.ToInfo(),
                    $"the idempotency key '{idempotencyKey}' was already used for this run's event '{result.Event.Name}' (sequence {result.Event.Sequence}); "
                    + $"event '{name}' was not stored: send it with another key");
            case SendEventOutcome.Existing:
                return new EventSendResult(EventSendOutcome.Existing, result.Event!.ToInfo());
            case SendEventOutcome.RunNotFound:
                return new EventSendResult(EventSendOutcome.RunNotFound, null, $"no run {runId}");
            default:
                return new EventSendResult(EventSendOutcome.RunFinished, null, $"run {runId} has finished; it takes no more events");
        }
    }
}
