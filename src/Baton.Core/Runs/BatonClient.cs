using System.Text.Json;
using Baton.Execution;
using Baton.Storage;
using Baton.Workflows;

namespace Baton.Runs;

internal sealed class BatonClient(WorkflowRegistry registry, EngineServices engine, WorkSignal signal, Worker worker) : IBatonClient
{
    public async Task<StartRunResult> StartRunAsync(StartRunRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (registry.Find(request.Workflow) is not { } definition)
        {
            return new StartRunResult(StartRunOutcome.UnknownWorkflow, null, $"no workflow named '{request.Workflow}' is registered");
        }

        if (!definition.TryReadInput(request.Input, engine.InputJson, out var input, out var inputJson, out var error))
        {
            return new StartRunResult(StartRunOutcome.InvalidInput, null, error);
        }

        if (request.IdempotencyKey is { Length: > 200 })
        {
            return new StartRunResult(StartRunOutcome.InvalidInput, null, "the idempotency key is longer than 200 characters");
        }

        var now = engine.Time.GetUtcNow();
        // A run due now that this node has room for is created with this node's lease and started here:
        // one write instead of a create and a claim. Otherwise it is created pending for any node to claim.
        var leased = engine.Options.StartRunsLocally && (request.RunAfter ?? now) <= now && worker.TryReserveSlot();
        var leaseExpiresAt = now + engine.Options.LeaseDuration;
        CreateRunResult result;
        try
        {
            result = await engine.Runs.CreateRunAsync(
                NewRunRequest(definition, input, inputJson, now, request.RunAfter) with
                {
                    IdempotencyKey = request.IdempotencyKey,
                    ConcurrencyKey = request.ConcurrencyKey ?? definition.ConcurrencyKeyFor(input),
                    CorrelationId = request.CorrelationId,
                    LeaseOwner = leased ? engine.Owner : null,
                    LeaseExpiresAt = leased ? leaseExpiresAt : null,
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch when (leased)
        {
            worker.ReleaseSlot();
            throw;
        }

        if (result.Outcome == CreateRunOutcome.Created)
        {
            engine.Metrics.RunsStarted.Add(1, new KeyValuePair<string, object?>("workflow", definition.Name));
            if (leased)
            {
                await worker.StartCreatedAsync(result.Run, leaseExpiresAt).ConfigureAwait(false);
            }
            else
            {
                signal.Notify();
            }
        }
        else if (leased)
        {
            worker.ReleaseSlot();
        }

        var outcome = result.Outcome switch
        {
            CreateRunOutcome.Created => StartRunOutcome.Created,
            CreateRunOutcome.Existing => StartRunOutcome.Existing,
            _ => StartRunOutcome.Conflict,
        };
        return new StartRunResult(outcome, result.Run, outcome == StartRunOutcome.Conflict ? $"run {result.Run.Id} is already active for this concurrency key" : null);
    }

    public async Task<RunDetails?> GetRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        var run = await engine.Runs.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            return null;
        }

        var steps = await engine.Steps.GetStepsAsync(runId, cancellationToken).ConfigureAwait(false);
        var attempts = await engine.Steps.GetAttemptsAsync(runId, cancellationToken).ConfigureAwait(false);
        return new RunDetails(run, steps, attempts);
    }

    public Task<RunPage> ListRunsAsync(ListRunsRequest request, CancellationToken cancellationToken = default) =>
        engine.Runs.ListRunsAsync(request, cancellationToken);

    public async Task<CancelRunResult> CancelRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        var result = await engine.Runs.CancelRunAsync(new CancelRunRequest(runId, engine.Time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        if (result.Outcome == CancelRunOutcome.Requested)
        {
            worker.CancelLocal(runId);
            signal.Notify();
        }

        return result;
    }

    public async Task<RetryRunResult> RetryRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        var run = await engine.Runs.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            return new RetryRunResult(RetryRunOutcome.NotFound, null);
        }

        var now = engine.Time.GetUtcNow();
        var timeout = registry.Find(run.Workflow)?.Options.RunTimeout;
        var result = await engine.Runs.RetryRunAsync(new RetryRunRequest(runId, now, timeout is { } t ? now + t : null), cancellationToken).ConfigureAwait(false);
        if (result.Outcome == RetryRunOutcome.Retried)
        {
            signal.Notify();
        }

        return result;
    }

    internal static CreateRunRequest NewRunRequest(WorkflowDefinition definition, object? input, string? inputJson, DateTimeOffset now, DateTimeOffset? runAfter)
    {
        var start = runAfter ?? now;
        return new CreateRunRequest
        {
            Id = RunIds.New(now),
            Workflow = definition.Name,
            Input = inputJson,
            ConcurrencyKey = definition.ConcurrencyKeyFor(input),
            ConcurrencyLimit = definition.Options.ConcurrencyLimit,
            Now = now,
            RunAfter = start,
            DeadlineAt = definition.Options.RunTimeout is { } timeout ? start + timeout : null,
        };
    }
}
