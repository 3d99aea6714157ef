using System.Text.Json;
using Baton.Runs;
using Microsoft.Data.Sqlite;
using static Baton.Storage.Sqlite.Internal.SqliteRows;
using static Baton.Storage.StoredValues;

namespace Baton.Storage.Sqlite.Internal;

internal sealed class SqliteRunStore(SqliteBatonStore store) : IRunStore
{
    private const string SelectRunById = $"SELECT {RunColumns} FROM runs WHERE id = $id";

    // Claimable runs: those without a lease (ix_runs_free, in claim order) and those whose lease expired
    // (ix_runs_leased, a takeover). Each index holds only its kind, so a claim reads the runs it claims and
    // not the runs in flight.
    internal static readonly string FreeRunsSql = $"""
        SELECT id, run_after FROM runs
        WHERE {ActiveStatus} AND lease_owner IS NULL AND run_after <= $now
            AND ($workflows IS NULL OR workflow IN (SELECT value FROM json_each($workflows)))
            AND ($versions IS NULL OR workflow || '@' || workflow_version IN (SELECT value FROM json_each($versions)))
        ORDER BY run_after LIMIT $max
        """;

    internal static readonly string ExpiredLeasesSql = $"""
        SELECT id, run_after FROM runs
        WHERE {ActiveStatus} AND lease_owner IS NOT NULL AND lease_expires_at <= $now AND run_after <= $now
            AND ($workflows IS NULL OR workflow IN (SELECT value FROM json_each($workflows)))
            AND ($versions IS NULL OR workflow || '@' || workflow_version IN (SELECT value FROM json_each($versions)))
        ORDER BY lease_expires_at LIMIT $max
        """;

    private static readonly string ClaimSql = $"""
        UPDATE runs SET
            lease_owner = $owner, lease_expires_at = $expires, executions = executions + 1,
            started_at = COALESCE(started_at, $now), status = CASE WHEN status = {Of(RunStatus.Compensating)} THEN {Of(RunStatus.Compensating)} ELSE {Of(RunStatus.Running)} END, updated_at = $now
        WHERE id = $id
        RETURNING {RunColumns}
        """;

    // An attempt still open when its run is claimed again was cut off (a crash, a lost lease): its process can no
    // longer record its end, so the claim closes it.
    private static readonly string CloseCutOffAttemptsSql =
        $"UPDATE step_attempts SET outcome = {Of(AttemptOutcome.Interrupted)}, ended_at = $now WHERE run_id = $id AND outcome = {Of(AttemptOutcome.Running)}";

    private static readonly string RenewSql = $"""
        UPDATE runs SET lease_expires_at = $expires
        WHERE id = $id AND lease_owner = $owner AND {ActiveStatus}
        RETURNING cancel_requested
        """;

    private const string ReleaseSql = """
        UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $now
        WHERE id = $id AND lease_owner = $owner
        """;

    private static readonly string UpdateSql = $"""
        UPDATE runs SET
            status = COALESCE($status, status),
            phase = COALESCE($phase, phase),
            progress = COALESCE($progress, progress),
            errors = COALESCE($errors, errors),
            output = COALESCE($output, output),
            failure = COALESCE($failure, failure),
            -- A cancel requested while the run ran, which its worker had not seen, makes the suspension due at once.
            run_after = CASE WHEN cancel_requested = 1 AND $status = {Of(RunStatus.Suspended)} THEN $now ELSE COALESCE($run_after, run_after) END,
            completed_at = CASE WHEN $status >= {Of(RunStatus.Succeeded)} THEN $now WHEN $status IS NOT NULL THEN NULL ELSE completed_at END,
            wakes_on = CASE WHEN $status = {Of(RunStatus.Suspended)} THEN $wakes_on WHEN $status IS NOT NULL THEN NULL ELSE wakes_on END,
            lease_owner = CASE WHEN $release THEN NULL ELSE lease_owner END,
            lease_expires_at = CASE WHEN $release THEN NULL ELSE lease_expires_at END,
            updated_at = $now
        WHERE id = $id AND lease_owner = $owner
        """;

    private static readonly string CancelNowSql = $"""
        UPDATE runs SET status = {Of(RunStatus.Cancelled)}, completed_at = $now, updated_at = $now, failure = $failure
        WHERE id = $id
        """;

    private static readonly string CancelRequestSql = $"""
        UPDATE runs SET cancel_requested = 1, updated_at = $now,
            run_after = CASE WHEN status = {Of(RunStatus.Suspended)} THEN $now ELSE run_after END
        WHERE id = $id
        """;

    private static readonly string CancelledFailureJson = RunStateJson.Failure(RunFailure.CancelledByRequest())!;

    private static readonly string ActiveForKeySql = $"SELECT COUNT(*) FROM runs WHERE concurrency_key = $key AND {ActiveStatus}";

    private static readonly string OldestActiveForKeySql = $"""
        SELECT {RunColumns} FROM runs WHERE concurrency_key = $key AND {ActiveStatus}
        ORDER BY created_at, id LIMIT 1
        """;

    // A child run goes only once its parent is gone (StoredValues.ParentGone).
    private static readonly string DoomedRunsSql = $"""
        SELECT id FROM runs WHERE id < $below AND {TerminalStatus} AND completed_at < $before AND {ParentGone("runs", "runs")}
        ORDER BY id LIMIT $max
        """;

    private static readonly string ReopenFailedSql = ReopenFailed("steps", "$id", "$step", "$now");
    private static readonly string SpendFailedWaitEventSql = SpendFailedWaitEvent("steps", "run_events", "$id", "$step");

    private static readonly string RetrySql = $"""
        UPDATE runs SET status = $status, completed_at = NULL, cancel_requested = 0,
            failure = CASE WHEN $status = {Of(RunStatus.Compensating)} THEN failure ELSE NULL END,
            lease_owner = NULL, lease_expires_at = NULL, run_after = $now, deadline_at = $deadline, updated_at = $now
        WHERE id = $id
        """;

    private const string InsertSql = """
        INSERT INTO runs (id, workflow, status, input, idempotency_key, concurrency_key, concurrency_limit,
            schedule_name, scheduled_fire_time, correlation_id, created_at, updated_at, run_after, deadline_at,
            started_at, lease_owner, lease_expires_at, executions, parent_run_id, workflow_version,
            trace_parent, trace_state)
        VALUES ($id, $workflow, $status, $input, $idempotency_key, $concurrency_key, $concurrency_limit,
            $schedule_name, $scheduled_fire_time, $correlation_id, $now, $now, $run_after, $deadline_at,
            $started_at, $lease_owner, $lease_expires_at, $executions, $parent_run_id, $workflow_version,
            $trace_parent, $trace_state)
        """;

    public Task<CreateRunResult> CreateRunAsync(CreateRunRequest request, CancellationToken cancellationToken = default)
    {
        Validate(request);
        return store.WriteAsync(ctx => Create(ctx, request), cancellationToken);
    }

    public Task<IReadOnlyList<CreateRunResult>> CreateRunsAsync(CreateRunsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        if (request.Runs.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<CreateRunResult>>([]);
        }

        // One write of the single writer: one transaction, and each create reads the ones before it.
        return store.WriteAsync<IReadOnlyList<CreateRunResult>>(
            ctx => request.Runs.Select(run => Create(ctx, run)).ToList(), cancellationToken);
    }

    public Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return store.ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = SelectRunById;
            return ReadOne(command.With("$id", runId), Run);
        }, cancellationToken);
    }

    public Task<RunRecordPage> ListRunsAsync(ListRunsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var limit = Math.Clamp(request.Limit, 1, RunLimits.MaxPageSize);
        return store.ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            var where = WorkflowFilter(command, request.Workflow);

            if (request.Status is { } status)
            {
                where.Add("status = $status");
                command.With("$status", (int)status);
            }

            if (request.Statuses is { Count: > 0 } statuses)
            {
                where.Add("status IN (SELECT value FROM json_each($statuses))");
                command.With("$statuses", JsonSerializer.Serialize(statuses.Select(st => (int)st).Distinct().ToArray()));
            }

            // created_at is kept in whole milliseconds: a bound with a fraction of one is rounded up, so a run created in that
            // millisecond is before it and not after it, as its createdAt reads (before: rounded down, the other way round).
            if (request.CreatedAfter is { } after)
            {
                where.Add("created_at >= $after");
                command.With("$after", (object)CeilingMilliseconds(after));
            }

            if (request.CreatedBefore is { } before)
            {
                where.Add("created_at < $before");
                command.With("$before", (object)CeilingMilliseconds(before));
            }

            if (request.ParentRunId is not null)
            {
                where.Add("parent_run_id = $parent_run_id");
                command.With("$parent_run_id", request.ParentRunId);
            }

            if (request.Cursor is not null)
            {
                where.Add("id < $cursor");
                command.With("$cursor", request.Cursor);
            }

            if (request.IdsFrom is not null)
            {
                where.Add("id >= $ids_from");
                command.With("$ids_from", request.IdsFrom);
            }

            if (request.IdsBelow is not null)
            {
                where.Add("id < $ids_below");
                command.With("$ids_below", request.IdsBelow);
            }

            command.CommandText =
                $"SELECT {(request.WithoutPayloads ? RunColumnsWithoutPayloads : RunColumns)} FROM runs {WhereClause(where)} " +
                "ORDER BY id DESC LIMIT $limit";
            command.With("$limit", limit + 1);
            var runs = ReadAll(command, Run);
            if (runs.Count <= limit)
            {
                return new RunRecordPage(runs, null);
            }

            runs.RemoveAt(runs.Count - 1);
            return new RunRecordPage(runs, runs[^1].Id);
        }, cancellationToken);
    }

    public Task<RunCounts> CountRunsAsync(CountRunsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var statuses = request.Statuses is { Count: > 0 } s ? JsonSerializer.Serialize(s.Select(st => (int)st).Distinct().ToArray()) : null;
        return store.ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            // Four statement shapes at most; a filter left out keeps ix_runs_status or ix_runs_workflow usable.
            var where = WorkflowFilter(command, request.Workflow);

            if (statuses is not null)
            {
                where.Add("status IN (SELECT value FROM json_each($statuses))");
                command.With("$statuses", statuses);
            }

            command.CommandText =
                $"SELECT status, COUNT(*) FROM runs {WhereClause(where)} GROUP BY status";
            var rows = ReadAll(command, r => (Status: (RunStatus)r.GetInt32(0), Count: r.GetInt64(1)));
            return new RunCounts(rows.ToDictionary(row => row.Status, row => row.Count));
        }, cancellationToken);
    }

    public Task<IReadOnlyList<RunRecord>> ClaimRunsAsync(ClaimRunsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Owner);
        if (request.MaxRuns <= 0)
        {
            return Task.FromResult<IReadOnlyList<RunRecord>>([]);
        }

        return store.WriteAsync<IReadOnlyList<RunRecord>>(ctx =>
        {
            var workflows = request.Workflows is null ? null : JsonSerializer.Serialize(request.Workflows.ToArray());
            var versions = request.WorkflowVersions is null ? null : JsonSerializer.Serialize(request.WorkflowVersions.ToArray());
            var candidates = Candidates(ctx, FreeRunsSql, request, workflows, versions, takeover: false);
            candidates.AddRange(Candidates(ctx, ExpiredLeasesSql, request, workflows, versions, takeover: true));
            candidates.Sort(static (a, b) => a.RunAfter != b.RunAfter ? a.RunAfter.CompareTo(b.RunAfter) : string.CompareOrdinal(a.Id, b.Id));
            var runs = new List<RunRecord>(Math.Min(candidates.Count, request.MaxRuns));
            foreach (var candidate in candidates.Take(request.MaxRuns))
            {
                // The writer holds the write lock, so every candidate is still claimable here.
                var run = ReadOne(ctx.Command(ClaimSql)
                    .With("$owner", request.Owner)
                    .With("$expires", request.LeaseExpiresAt)
                    .With("$now", request.Now)
                    .With("$id", candidate.Id), Run)!;
                if (run.Executions > 1)
                {
                    ctx.Command(CloseCutOffAttemptsSql).With("$now", request.Now).With("$id", candidate.Id).ExecuteNonQuery();
                }

                runs.Add(candidate.Takeover ? run with { TakenOver = true } : run);
            }

            return runs;
        }, cancellationToken);
    }

    private static List<ClaimCandidate> Candidates(WriteContext ctx, string sql, ClaimRunsRequest request, string? workflows, string? versions, bool takeover) =>
        ReadAll(
            ctx.Command(sql).With("$now", request.Now).With("$max", request.MaxRuns).With("$workflows", workflows).With("$versions", versions),
            r => new ClaimCandidate(r.GetString(0), r.GetInt64(1), takeover));

    private readonly record struct ClaimCandidate(string Id, long RunAfter, bool Takeover);

    public Task<RenewLeasesResult> RenewLeasesAsync(RenewLeasesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Owner);
        return store.WriteAsync(ctx =>
        {
            var lost = new List<string>();
            var cancelRequested = new List<string>();
            foreach (var id in request.RunIds)
            {
                var flag = ctx.Command(RenewSql)
                    .With("$expires", request.LeaseExpiresAt)
                    .With("$id", id)
                    .With("$owner", request.Owner)
                    .ExecuteScalar();
                if (flag is null)
                {
                    lost.Add(id);
                }
                else if (Convert.ToInt64(flag, System.Globalization.CultureInfo.InvariantCulture) != 0)
                {
                    cancelRequested.Add(id);
                }
            }

            return new RenewLeasesResult(lost, cancelRequested);
        }, cancellationToken);
    }

    public Task<bool> ReleaseLeaseAsync(ReleaseLeaseRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return store.WriteAsync(
            ctx => ctx.Statement(ReleaseSql)
                .With("$now", request.Now)
                .With("$id", request.RunId)
                .With("$owner", request.Owner)
                .ExecuteNonQuery() > 0,
            cancellationToken);
    }

    public Task<bool> UpdateRunAsync(UpdateRunRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.ThrowIfInvalid();
        // Serialized on the caller's thread: the writer thread is the bottleneck, so it only binds and executes.
        var progress = RunStateJson.Progress(request.Progress);
        var errors = RunStateJson.Errors(request.Errors);
        var failure = RunStateJson.Failure(request.Failure);
        var wakesOn = WakesOnText(request.WakesOn);
        return store.WriteAsync(
            ctx =>
            {
                var updated = ctx.Statement(UpdateSql)
                    .With("$status", request.Status is { } s ? (int)s : (long?)null)
                    .With("$phase", request.Phase)
                    .With("$progress", progress)
                    .With("$errors", errors)
                    .With("$output", request.Output)
                    .With("$failure", failure)
                    .With("$run_after", request.RunAfter)
                    .With("$wakes_on", wakesOn)
                    .With("$release", request.ReleaseLease)
                    .With("$now", request.Now)
                    .With("$id", request.RunId)
                    .With("$owner", request.Owner)
                    .ExecuteNonQuery() > 0;
                // The update was the lease check: the step's rows go into the same transaction only behind it (a throw
                // rolls back the whole operation, so the three rows are stored together or not at all).
                if (updated && request.EndedAttempt is { } ended)
                {
                    SqliteStepStore.WriteEnded(ctx, ended);
                }

                return updated;
            },
            cancellationToken,
            completeOnWriter: request.ContinuesBriefly);
    }

    public Task<CancelRunRecordResult> CancelRunAsync(CancelRunRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return store.WriteAsync(ctx =>
        {
            var run = Get(ctx, request.RunId);
            if (run is null)
            {
                return new CancelRunRecordResult(CancelRunOutcome.NotFound, null);
            }

            if (run.Status.IsTerminal())
            {
                return new CancelRunRecordResult(CancelRunOutcome.AlreadyFinished, run);
            }

            if (run.Status == RunStatus.Pending && run.LeaseOwner is null)
            {
                ctx.Command(CancelNowSql)
                    .With("$now", request.Now)
                    .With("$failure", CancelledFailureJson)
                    .With("$id", run.Id)
                    .ExecuteNonQuery();
                return new CancelRunRecordResult(CancelRunOutcome.Cancelled, Get(ctx, run.Id));
            }

            // A suspended run has no worker; making it due lets one claim it and act on the request.
            ctx.Command(CancelRequestSql)
                .With("$now", request.Now)
                .With("$id", run.Id)
                .ExecuteNonQuery();
            return new CancelRunRecordResult(CancelRunOutcome.Requested, Get(ctx, run.Id));
        }, cancellationToken);
    }

    public Task<RetryRunRecordResult> RetryRunAsync(RetryRunRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return store.WriteAsync(ctx =>
        {
            var (refusal, run, next) = Retryable(ctx, request.RunId);
            if (refusal is not null)
            {
                return refusal;
            }

            // Every check before any write (this operation shares its transaction with others): a refused retry changes nothing.
            var others = new List<(RunRecord Run, RunStatus Next, RetryRunRequest Request)>();
            foreach (var also in request.With)
            {
                var (otherRefusal, other, otherNext) = Retryable(ctx, also.RunId);
                if (otherRefusal is { Outcome: RetryRunOutcome.Conflict })
                {
                    // The run's replay would find this one ended again: the retry is refused as a whole, naming the holder.
                    return otherRefusal;
                }

                if (other is not null)
                {
                    others.Add((other, otherNext!.Value, also));
                }
            }

            foreach (var (other, otherNext, also) in others)
            {
                Retry(ctx, other, otherNext, also);
            }

            Retry(ctx, run!, next!.Value, request);
            return new RetryRunRecordResult(RetryRunOutcome.Retried, Get(ctx, run!.Id));
        }, cancellationToken);
    }

    /// <summary>Run <paramref name="runId"/> and the status a retry gives it, or why it cannot be retried now.</summary>
    private static (RetryRunRecordResult? Refusal, RunRecord? Run, RunStatus? Next) Retryable(WriteContext ctx, string runId)
    {
        var run = Get(ctx, runId);
        if (run is null)
        {
            return (new RetryRunRecordResult(RetryRunOutcome.NotFound, null), null, null);
        }

        if (run.RetryTarget() is not { } next)
        {
            return (new RetryRunRecordResult(RetryRunOutcome.NotRetryable, run), null, null);
        }

        if (run.ConcurrencyKey is not null && HolderAtLimit(ctx, run.ConcurrencyKey, run.ConcurrencyLimit) is { } holder)
        {
            return (new RetryRunRecordResult(RetryRunOutcome.Conflict, holder), null, null);
        }

        return (null, run, next);
    }

    private static void Retry(WriteContext ctx, RunRecord run, RunStatus next, RetryRunRequest request)
    {
        if (next == RunStatus.Pending)
        {
            ctx.Command(SpendFailedWaitEventSql).With("$id", run.Id).With("$step", run.Failure?.Step).ExecuteNonQuery();
            ctx.Command(ReopenFailedSql).With("$id", run.Id).With("$step", run.Failure?.Step).With("$now", request.Now).ExecuteNonQuery();
        }

        // A run retried into compensating keeps its failure: the compensations that finish end it with that failure.
        ctx.Command(RetrySql)
            .With("$status", (int)next)
            .With("$now", request.Now)
            .With("$deadline", request.DeadlineAt)
            .With("$id", run.Id)
            .ExecuteNonQuery();
    }

    /// <summary>The most rows one write of retention deletes from a run's steps, attempts or events.</summary>
    internal const int PruneChunkRows = 5_000;

    private const string PrunedIds = "SELECT id FROM pruned_runs";

    // One write's worth of the pruned runs' attempts, steps and events, each statement repeated until it deletes fewer.
    private static readonly string[] PrunedRowChunksSql =
    [
        $"DELETE FROM step_attempts WHERE (run_id, step_key, attempt) IN (SELECT run_id, step_key, attempt FROM step_attempts WHERE run_id IN ({PrunedIds}) LIMIT {PruneChunkRows})",
        $"DELETE FROM steps WHERE rowid IN (SELECT rowid FROM steps WHERE run_id IN ({PrunedIds}) LIMIT {PruneChunkRows})",
        $"DELETE FROM run_events WHERE id IN (SELECT id FROM run_events WHERE run_id IN ({PrunedIds}) LIMIT {PruneChunkRows})",
    ];

    public async Task<int> PruneRunsAsync(PruneRunsRequest request, CancellationToken cancellationToken = default)
    {
        ValidatePrune(request);
        // One write takes the runs: from then on no read, retry or event finds them (before, the whole batch went in one
        // write with every step, attempt and event of its runs: 500 runs of 2,000 fan-out items held the writer 13.4 s). Their
        // ids are noted in the same write, and their rows go in chunks after it, other writes taking turns between.
        var deleted = await store.WriteAsync(ctx =>
        {
            ctx.Command($"INSERT OR IGNORE INTO pruned_runs (id) {DoomedRunsSql}")
                .With("$below", request.IdsBelow).With("$before", request.CompletedBefore).With("$max", request.MaxRuns)
                .ExecuteNonQuery();
            return ctx.Command($"DELETE FROM runs WHERE id IN ({PrunedIds})").ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);
        await DeletePrunedRowsAsync(cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    /// <summary>
    /// Deletes the steps, attempts and events of the runs noted in <c>pruned_runs</c>, <see cref="PruneChunkRows"/> rows per
    /// write, then the notes themselves; also what a prune cut off by a crash left.
    /// </summary>
    private async Task DeletePrunedRowsAsync(CancellationToken cancellationToken)
    {
        foreach (var chunk in PrunedRowChunksSql)
        {
            while (await store.WriteAsync(ctx => ctx.Command(chunk).ExecuteNonQuery(), cancellationToken).ConfigureAwait(false) == PruneChunkRows)
            {
            }
        }

        // Only the notes of runs with nothing left: a prune that began meanwhile may have noted more.
        await store.WriteAsync(
            ctx => ctx.Command("""
                DELETE FROM pruned_runs WHERE NOT EXISTS (SELECT 1 FROM steps WHERE run_id = pruned_runs.id)
                    AND NOT EXISTS (SELECT 1 FROM step_attempts WHERE run_id = pruned_runs.id)
                    AND NOT EXISTS (SELECT 1 FROM run_events WHERE run_id = pruned_runs.id)
                """).ExecuteNonQuery(),
            cancellationToken).ConfigureAwait(false);
    }

    internal static void ValidatePrune(PruneRunsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.IdsBelow, "request.IdsBelow");
        ArgumentOutOfRangeException.ThrowIfLessThan(request.MaxRuns, 1, "request.MaxRuns");
    }

    internal static void Validate(CreateRunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
    }

    /// <summary>Creation as one step of a write transaction; also used when a schedule fires.</summary>
    internal static CreateRunResult Create(WriteContext ctx, CreateRunRequest request)
    {
        if (request.IdempotencyKey is not null)
        {
            var existing = ReadOne(
                ctx.Command($"SELECT {RunColumns} FROM runs WHERE workflow = $workflow AND idempotency_key = $key")
                    .With("$workflow", request.Workflow)
                    .With("$key", request.IdempotencyKey),
                Run);
            if (existing is not null)
            {
                return new CreateRunResult(CreateRunOutcome.Existing, existing);
            }
        }

        if (request is { ScheduleName: not null, ScheduledFireTime: not null })
        {
            var existing = ReadOne(
                ctx.Command($"SELECT {RunColumns} FROM runs WHERE schedule_name = $name AND scheduled_fire_time = $fire")
                    .With("$name", request.ScheduleName)
                    .With("$fire", request.ScheduledFireTime),
                Run);
            if (existing is not null)
            {
                return new CreateRunResult(CreateRunOutcome.Existing, existing);
            }
        }

        if (request.ConcurrencyKey is not null
            && HolderAtLimit(ctx, request.ConcurrencyKey, request.ConcurrencyLimit) is { } holder)
        {
            return new CreateRunResult(CreateRunOutcome.Conflict, holder);
        }

        var runAfter = request.RunAfter ?? request.Now;
        var leased = request.LeaseOwner is not null;
        ctx.Statement(InsertSql)
            .With("$id", request.Id)
            .With("$workflow", request.Workflow)
            .With("$input", request.Input)
            .With("$idempotency_key", request.IdempotencyKey)
            .With("$concurrency_key", request.ConcurrencyKey)
            .With("$concurrency_limit", request.ConcurrencyLimit)
            .With("$schedule_name", request.ScheduleName)
            .With("$scheduled_fire_time", request.ScheduledFireTime)
            .With("$correlation_id", request.CorrelationId)
            .With("$now", request.Now)
            .With("$run_after", runAfter)
            .With("$deadline_at", request.DeadlineAt)
            .With("$status", (int)(leased ? RunStatus.Running : RunStatus.Pending))
            .With("$started_at", leased ? request.Now : (DateTimeOffset?)null)
            .With("$lease_owner", request.LeaseOwner)
            .With("$lease_expires_at", request.LeaseExpiresAt)
            .With("$executions", leased ? 1 : 0)
            .With("$parent_run_id", request.ParentRunId)
            .With("$workflow_version", request.WorkflowVersion)
            .With("$trace_parent", request.TraceParent)
            .With("$trace_state", request.TraceState)
            .ExecuteNonQuery();

        // Built from the request rather than read back: the row holds exactly these values.
        var run = new RunRecord
        {
            Id = request.Id,
            Workflow = request.Workflow,
            Status = leased ? RunStatus.Running : RunStatus.Pending,
            Input = request.Input,
            IdempotencyKey = request.IdempotencyKey,
            ConcurrencyKey = request.ConcurrencyKey,
            ConcurrencyLimit = request.ConcurrencyLimit,
            ScheduleName = request.ScheduleName,
            ScheduledFireTime = Truncate(request.ScheduledFireTime),
            CorrelationId = request.CorrelationId,
            CreatedAt = Truncate(request.Now),
            UpdatedAt = Truncate(request.Now),
            RunAfter = Truncate(runAfter),
            DeadlineAt = Truncate(request.DeadlineAt),
            StartedAt = leased ? Truncate(request.Now) : null,
            LeaseOwner = request.LeaseOwner,
            LeaseExpiresAt = Truncate(request.LeaseExpiresAt),
            Executions = leased ? 1 : 0,
            ParentRunId = request.ParentRunId,
            WorkflowVersion = request.WorkflowVersion,
            TraceParent = request.TraceParent,
            TraceState = request.TraceState,
        };
        return new CreateRunResult(CreateRunOutcome.Created, run);
    }

    /// <summary>The oldest active run holding <paramref name="key"/> if the key is at <paramref name="limit"/>; null if there is room.</summary>
    private static RunRecord? HolderAtLimit(WriteContext ctx, string key, int limit)
    {
        var active = ctx.Statement(ActiveForKeySql)
            .With("$key", key)
            .ExecuteScalarInt64();
        if (active < limit)
        {
            return null;
        }

        return ReadOne(
            ctx.Command(OldestActiveForKeySql)
                .With("$key", key),
            Run);
    }

    private static RunRecord? Get(WriteContext ctx, string id) => ReadOne(ctx.Command(SelectRunById).With("$id", id), Run);

    /// <summary>The filters of a listing or count, starting with the workflow's if one is given.</summary>
    private static List<string> WorkflowFilter(SqliteCommand command, string? workflow)
    {
        var where = new List<string>();
        if (workflow is not null)
        {
            where.Add("workflow = $workflow");
            command.With("$workflow", workflow);
        }

        return where;
    }

    /// <summary>The WHERE clause of the filters set (nothing when none is): a few statement shapes, values always parameters.</summary>
    private static string WhereClause(List<string> where) => where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where);

    private static DateTimeOffset Truncate(DateTimeOffset value) =>
        DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds());

    private static DateTimeOffset? Truncate(DateTimeOffset? value) => value is { } v ? Truncate(v) : null;

    private static long CeilingMilliseconds(DateTimeOffset time) =>
        time.ToUnixTimeMilliseconds() + (time.UtcTicks % TimeSpan.TicksPerMillisecond == 0 ? 0 : 1);
}
