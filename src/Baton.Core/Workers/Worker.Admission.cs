using Baton.Runs;
using Baton.Storage;
using Baton.Workflows;

namespace Baton.Workers;

/// <summary>
/// Admission: the one place that creates and starts runs on this node, for the client and the scheduler alike.
/// A run due now that this node has room for is created with this node's lease and started here, with its
/// definition and read input: one write instead of a create and a claim. Otherwise it is created pending for any
/// node to claim.
/// </summary>
internal sealed partial class Worker
{
    private readonly RunIds _runIds = new();
    private readonly Lock _admissionGate = new();
    private bool _admissionClosed;
    private int _reserved;

    /// <summary>
    /// Creates a run of <paramref name="definition"/> through <paramref name="create"/> (the store write; its result
    /// holds the created or existing run, or none, as <paramref name="created"/> reads it) and starts it on this node
    /// when it was created with this node's lease, else wakes the claim loop.
    /// </summary>
    public async Task<TResult> AdmitAsync<TResult>(
        WorkflowDefinition definition,
        RunInput input,
        RunOrigin origin,
        Func<CreateRunRequest, CancellationToken, Task<TResult>> create,
        Func<TResult, CreateRunResult?> created,
        CancellationToken cancellationToken)
    {
        var admission = Prepare(new Admission(definition, input, origin));
        TResult result;
        try
        {
            result = await create(admission.Request, cancellationToken).ConfigureAwait(false);
        }
        catch when (admission.Leased)
        {
            Interlocked.Decrement(ref _reserved);
            throw;
        }

        await AfterCreateAsync(admission, created(result)).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Creates the runs of <paramref name="admissions"/> in one store write (<see cref="IRunStore.CreateRunsAsync"/>)
    /// and starts each one created with this node's lease here, as <see cref="AdmitAsync{TResult}"/> does for one.
    /// One result per admission, in order.
    /// </summary>
    public async Task<IReadOnlyList<CreateRunResult>> AdmitManyAsync(IReadOnlyList<Admission> admissions, CancellationToken cancellationToken)
    {
        var prepared = new PreparedAdmission[admissions.Count];
        for (var i = 0; i < admissions.Count; i++)
        {
            prepared[i] = Prepare(admissions[i]);
        }

        IReadOnlyList<CreateRunResult> results;
        try
        {
            results = await engine.Runs.CreateRunsAsync(new CreateRunsRequest(prepared.Select(p => p.Request).ToList()), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Add(ref _reserved, -prepared.Count(p => p.Leased));
            throw;
        }

        for (var i = 0; i < prepared.Length; i++)
        {
            await AfterCreateAsync(prepared[i], results[i]).ConfigureAwait(false);
        }

        return results;
    }

    /// <summary>The store request of an admission, with this node's lease when it is due now and a slot is free (reserved).</summary>
    private PreparedAdmission Prepare(Admission admission)
    {
        var (definition, input, origin) = admission;
        var start = origin.RunAfter ?? origin.Now;
        var leased = engine.Options.StartRunsLocally && start <= origin.Now && TryReserveSlot();
        var leaseExpiresAt = origin.Now + engine.Options.LeaseDuration;
        // The span current at admission (the start request's, a message's, a parent step's) is the parent of every execution.
        var (traceParent, traceState) = Diagnostics.BatonTracing.CaptureCurrent();
        var request = new CreateRunRequest
        {
            Id = _runIds.New(origin.Now),
            Workflow = definition.Name,
            Input = input.Json,
            IdempotencyKey = origin.IdempotencyKey,
            ConcurrencyKey = origin.ConcurrencyKey ?? input.ConcurrencyKey,
            ConcurrencyLimit = definition.Options.ConcurrencyLimit,
            CorrelationId = origin.CorrelationId,
            ParentRunId = origin.ParentRunId,
            WorkflowVersion = definition.Options.Version,
            TraceParent = traceParent,
            TraceState = traceState,
            ScheduleName = origin.ScheduleName,
            ScheduledFireTime = origin.ScheduledFireTime,
            Now = origin.Now,
            RunAfter = start,
            DeadlineAt = definition.Options.RunTimeout is { } timeout ? start + timeout : null,
            LeaseOwner = leased ? engine.Owner : null,
            LeaseExpiresAt = leased ? leaseExpiresAt : null,
        };
        return new PreparedAdmission(admission, request, leased, leaseExpiresAt);
    }

    /// <summary>Starts a run created with this node's lease, or wakes the claim loop for one created pending; frees an unused slot.</summary>
    private async Task AfterCreateAsync(PreparedAdmission admission, CreateRunResult? result)
    {
        if (result is not { Outcome: CreateRunOutcome.Created } run)
        {
            if (admission.Leased)
            {
                Interlocked.Decrement(ref _reserved);
            }

            return;
        }

        var definition = admission.Admission.Definition;
        engine.Metrics.RunsStarted.Add(1, new KeyValuePair<string, object?>("workflow", definition.Name));
        if (admission.Leased)
        {
            await StartAdmittedAsync(run.Run, admission.LeaseExpiresAt, definition, admission.Admission.Input).ConfigureAwait(false);
        }
        else
        {
            signal.Notify();
        }
    }

    /// <summary>Slots reserved for runs being created with this node's lease.</summary>
    private int Reserved => Volatile.Read(ref _reserved);

    /// <summary>From here on a run created with this node's lease is handed back rather than started.</summary>
    private void CloseAdmission()
    {
        lock (_admissionGate)
        {
            _admissionClosed = true;
        }
    }

    /// <summary>False when the worker is not running or is stopping, or every slot is taken.</summary>
    private bool TryReserveSlot()
    {
        if (!IsRunning || Volatile.Read(ref _admissionClosed))
        {
            return false;
        }

        if (Interlocked.Increment(ref _reserved) + _active.Count > engine.Options.MaxConcurrentRuns)
        {
            Interlocked.Decrement(ref _reserved);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Executes a run leased to this node (created with its lease, or claimed while its previous execution here
    /// unwound), in the slot reserved for it. A node that began stopping in between gives the lease back instead,
    /// so any node can claim the run at once.
    /// </summary>
    private async Task StartAdmittedAsync(RunRecord run, DateTimeOffset leaseExpiresAt, WorkflowDefinition? definition = null, RunInput? input = null)
    {
        try
        {
            lock (_admissionGate)
            {
                if (!_admissionClosed)
                {
                    Start(run, leaseExpiresAt, definition, input);
                    return;
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _reserved);
        }

        try
        {
            await engine.Runs.ReleaseLeaseAsync(new ReleaseLeaseRequest(run.Id, engine.Owner, engine.Time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The lease then expires and any node takes the run over.
            Log.LeaseReleaseFailed(engine.Logger, ex, run.Id);
        }
    }
}

/// <summary>Where a run comes from and what its starter asked for: the fields of its creation that its workflow does not give.</summary>
internal readonly record struct RunOrigin
{
    public required DateTimeOffset Now { get; init; }

    /// <summary>When it may start; null is now.</summary>
    public DateTimeOffset? RunAfter { get; init; }

    public string? IdempotencyKey { get; init; }

    /// <summary>Overrides the key the workflow derives from the input.</summary>
    public string? ConcurrencyKey { get; init; }

    public string? CorrelationId { get; init; }

    public string? ScheduleName { get; init; }

    public DateTimeOffset? ScheduledFireTime { get; init; }

    /// <summary>The run that starts this one as an awaited child.</summary>
    public string? ParentRunId { get; init; }
}

/// <summary>A run to admit: its workflow, its read input and where it comes from.</summary>
internal readonly record struct Admission(WorkflowDefinition Definition, RunInput Input, RunOrigin Origin);

/// <summary>An admission with its store request and whether a slot of this node was reserved for it.</summary>
internal readonly record struct PreparedAdmission(Admission Admission, CreateRunRequest Request, bool Leased, DateTimeOffset LeaseExpiresAt);
