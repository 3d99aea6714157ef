using Baton.Runs;
using Npgsql;
using static Baton.Storage.Postgres.Internal.PostgresRows;
using static Baton.Storage.StoredValues;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// Runs. Every hot operation is one statement; the writes a worker makes all the time (creates without a
/// concurrency key, updates, renewals, releases) share commits through <see cref="PostgresWriter"/>. Concurrency-keyed
/// creates share commits through <see cref="PostgresCreateBatcher"/>, whose transactions take the keys' advisory locks
/// before counting, so creates on different nodes cannot both pass the count. Claims run on a kept connection.
/// Writes by a worker are fenced by <c>lease_owner = @owner</c>.
/// </summary>
internal sealed class PostgresRunStore : IRunStore, IAsyncDisposable
{
    private readonly KeptConnection _claimConnection;
    private readonly PostgresBatonStore _store;
    private readonly string _selectById;
    private readonly string _createSql;
    private readonly string _createPlainSql;
    private readonly string _existingSql;
    private readonly string _claimSql;
    private readonly string _claimedSql;
    private readonly string _renewSql;
    private readonly string _releaseSql;
    private readonly string _updateSql;
    private readonly string _updateWithStepSql;
    private readonly string _cancelNowSql;
    private readonly string _cancelRequestSql;
    private readonly string _holderSql;
    private readonly string _retrySql;
    private readonly string _schema;
    private readonly string _reopenSql;
    private readonly string _spendSql;

    public PostgresRunStore(PostgresBatonStore store, string s)
    {
        _store = store;
        _claimConnection = new KeptConnection(store);
        _schema = s;
        _selectById = $"SELECT {RunColumns} FROM {s}.runs WHERE id = @id";

        // Outcome 0 = created (with a NOTIFY if due), 1 = an existing run for the idempotency key or schedule
        // fire, 2 = the oldest active run holding the concurrency key when it is at its limit. No row at all
        // means the insert hit a unique index on a row this statement's snapshot cannot see (committed
        // meanwhile): the caller reads it with a fresh snapshot. @again: the create runs again after a try whose answer
        // was lost (the connection broke, maybe after the commit): a run with its id, workflow, creation time and input is
        // the one that try stored, reported created (not as the key's existing run, nor as its holder, nor as a taken id).
        _createSql = $"""
            WITH existing AS (
                (SELECT true AS own, {RunColumns} FROM {s}.runs
                 WHERE @again AND id = @id AND workflow = @workflow AND created_at = @now AND input IS NOT DISTINCT FROM @input)
                UNION ALL
                (SELECT false, {RunColumns} FROM {s}.runs WHERE workflow = @workflow AND idempotency_key = @idempotency_key)
                UNION ALL
                (SELECT false, {RunColumns} FROM {s}.runs WHERE schedule_name = @schedule_name AND scheduled_fire_time = @scheduled_fire_time)
                LIMIT 1
            ), active AS (
                SELECT count(*) AS n FROM {s}.runs WHERE concurrency_key = @concurrency_key AND {ActiveStatus}
            ), ins AS (
                INSERT INTO {s}.runs (id, workflow, status, input, idempotency_key, concurrency_key, concurrency_limit,
                    schedule_name, scheduled_fire_time, correlation_id, created_at, updated_at, run_after, deadline_at,
                    started_at, lease_owner, lease_expires_at, executions, parent_run_id, workflow_version,
                    trace_parent, trace_state)
                SELECT @id, @workflow, CASE WHEN @lease_owner::text IS NULL THEN {Of(RunStatus.Pending)} ELSE {Of(RunStatus.Running)} END, @input, @idempotency_key,
                    @concurrency_key, @concurrency_limit, @schedule_name, @scheduled_fire_time, @correlation_id, @now, @now,
                    @run_after, @deadline_at, CASE WHEN @lease_owner::text IS NULL THEN NULL ELSE @now END, @lease_owner,
                    @lease_expires_at, CASE WHEN @lease_owner::text IS NULL THEN 0 ELSE 1 END, @parent_run_id, @workflow_version,
                    @trace_parent, @trace_state
                WHERE NOT EXISTS (SELECT 1 FROM existing) AND (SELECT n FROM active) < @concurrency_limit
                ON CONFLICT DO NOTHING
                RETURNING {RunColumns}
            )
            SELECT 0 AS outcome, {RunColumns},
                CASE WHEN run_after <= @now AND lease_owner IS NULL THEN EXISTS (SELECT FROM pg_notify(@channel, '')) ELSE false END
            FROM ins
            UNION ALL
            SELECT CASE WHEN own THEN 0 ELSE 1 END, {RunColumns}, false FROM existing
            UNION ALL
            (SELECT 2, {RunColumns}, false FROM {s}.runs
             WHERE concurrency_key = @concurrency_key AND {ActiveStatus}
                AND NOT EXISTS (SELECT 1 FROM existing) AND (SELECT n FROM active) >= @concurrency_limit
             ORDER BY created_at, id LIMIT 1)
            """;

        // A run with no idempotency key, schedule fire or concurrency key can meet no existing run and no limit: a
        // plain insert says the same as the statement above, and PostgreSQL sets up a fraction of its plan (setting
        // up that plan's nodes was a quarter of PostgreSQL's CPU per run in a perf profile of the engine benchmark).
        // Only a run with the same id conflicts; it returns no row, as above.
        _createPlainSql = $"""
            INSERT INTO {s}.runs (id, workflow, status, input, concurrency_limit, correlation_id, created_at, updated_at,
                run_after, deadline_at, started_at, lease_owner, lease_expires_at, executions, parent_run_id, workflow_version,
                trace_parent, trace_state)
            VALUES (@id, @workflow, CASE WHEN @lease_owner::text IS NULL THEN {Of(RunStatus.Pending)} ELSE {Of(RunStatus.Running)} END, @input,
                @concurrency_limit, @correlation_id, @now, @now, @run_after, @deadline_at,
                CASE WHEN @lease_owner::text IS NULL THEN NULL ELSE @now END, @lease_owner, @lease_expires_at,
                CASE WHEN @lease_owner::text IS NULL THEN 0 ELSE 1 END, @parent_run_id, @workflow_version, @trace_parent, @trace_state)
            ON CONFLICT DO NOTHING
            RETURNING 0 AS outcome, {RunColumns},
                CASE WHEN run_after <= @now AND lease_owner IS NULL THEN EXISTS (SELECT FROM pg_notify(@channel, '')) ELSE false END
            """;

        _existingSql = $"""
            (SELECT {RunColumns} FROM {s}.runs WHERE workflow = @workflow AND idempotency_key = @idempotency_key)
            UNION ALL
            (SELECT {RunColumns} FROM {s}.runs WHERE schedule_name = @schedule_name AND scheduled_fire_time = @scheduled_fire_time)
            LIMIT 1
            """;

        // An attempt still open when its run is claimed again was cut off (a crash, a lost lease): its process can no
        // longer record its end, so the claim closes it (cut_off; a run's first claim has no attempts to look at).
        // SKIP LOCKED: concurrent claimers (on any node) pass over rows another one is taking. Runs whose lease
        // expired come first (oldest expiry first), then free runs in run_after order; each has its own partial
        // index, so neither reads the runs other workers are executing. The old lease owner is returned: a
        // claimed run that still names one was taken over. The workflow filter is written so no index can
        // serve it: it rarely excludes anything, and with stale statistics the planner would otherwise AND a
        // scan of every run of the workflow into the claim. Each claim marks what it takes with its own token
        // (claim_token), by which it finds them again if its answer is lost (see ClaimRunsAsync).
        _claimSql = $"""
            WITH expired AS (
                SELECT id, lease_owner AS previous_owner, executions FROM {s}.runs
                WHERE {ActiveStatus} AND lease_owner IS NOT NULL AND lease_expires_at <= @now AND run_after <= @now
                    AND (@workflows::text[] IS NULL OR array_position(@workflows, workflow::text) IS NOT NULL)
                    AND (@versions::text[] IS NULL OR array_position(@versions, workflow::text || '@' || workflow_version) IS NOT NULL)
                ORDER BY lease_expires_at, id
                LIMIT @max
                FOR UPDATE SKIP LOCKED
            ), free AS (
                SELECT id, NULL::text AS previous_owner, executions FROM {s}.runs
                WHERE {ActiveStatus} AND lease_owner IS NULL AND run_after <= @now
                    AND (@workflows::text[] IS NULL OR array_position(@workflows, workflow::text) IS NOT NULL)
                    AND (@versions::text[] IS NULL OR array_position(@versions, workflow::text || '@' || workflow_version) IS NOT NULL)
                ORDER BY run_after, id
                LIMIT @max
                FOR UPDATE SKIP LOCKED
            ), picked AS (
                (SELECT id, previous_owner, executions FROM expired) UNION ALL (SELECT id, previous_owner, executions FROM free) LIMIT @max
            ), cut_off AS (
                UPDATE {s}.step_attempts SET outcome = {Of(AttemptOutcome.Interrupted)}, ended_at = @now
                WHERE run_id IN (SELECT id FROM picked WHERE executions > 0) AND outcome = {Of(AttemptOutcome.Running)}
            )
            UPDATE {s}.runs AS r SET
                lease_owner = @owner, lease_expires_at = @expires, claim_token = @token, executions = r.executions + 1,
                started_at = COALESCE(r.started_at, @now), status = CASE WHEN r.status = {Of(RunStatus.Compensating)} THEN {Of(RunStatus.Compensating)} ELSE {Of(RunStatus.Running)} END, updated_at = @now
            FROM picked
            WHERE r.id = picked.id
            RETURNING {Qualified("r")}, picked.previous_owner IS NOT NULL
            """;

        // The runs a claim whose answer was lost took, if it committed: still leased to its owner, with its expiry and its
        // token (nothing else sets the token; renewals and takeovers change the expiry or the owner). Read through
        // ix_runs_leased by the expiry.
        _claimedSql = $"""
            SELECT {RunColumns} FROM {s}.runs
            WHERE {ActiveStatus} AND lease_owner IS NOT NULL AND lease_expires_at = @expires AND lease_owner = @owner
                AND claim_token = @token
            """;

        _renewSql = $"""
            UPDATE {s}.runs SET lease_expires_at = @expires
            WHERE id = ANY(@ids) AND lease_owner = @owner AND {ActiveStatus}
            RETURNING id, cancel_requested
            """;

        // @again: the write runs again after a try whose answer was lost (see PostgresWriterLane). A lease released with
        // this write's time was released by that try, which committed: the write applied (its values are set again).
        var releasedByFirstTry = "@again AND lease_owner IS NULL AND updated_at = @now";
        _releaseSql = $"""
            UPDATE {s}.runs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
            WHERE id = @id AND (lease_owner = @owner OR ({releasedByFirstTry}))
            RETURNING CASE WHEN {ActiveStatus} AND run_after <= @now THEN EXISTS (SELECT FROM pg_notify(@channel, '')) ELSE false END
            """;

        var update = $"""
            UPDATE {s}.runs SET
                status = COALESCE(@status, status),
                phase = COALESCE(@phase, phase),
                progress = COALESCE(@progress, progress),
                errors = COALESCE(@errors, errors),
                output = COALESCE(@output, output),
                failure = COALESCE(@failure, failure),
                -- A cancel requested while the run ran, which its worker had not seen, makes the suspension due at once.
                run_after = CASE WHEN cancel_requested AND @status = {Of(RunStatus.Suspended)} THEN @now ELSE COALESCE(@run_after, run_after) END,
                completed_at = CASE WHEN @status >= {Of(RunStatus.Succeeded)} THEN @now WHEN @status IS NOT NULL THEN NULL ELSE completed_at END,
                wakes_on = CASE WHEN @status = {Of(RunStatus.Suspended)} THEN @wakes_on WHEN @status IS NOT NULL THEN NULL ELSE wakes_on END,
                lease_owner = CASE WHEN @release THEN NULL ELSE lease_owner END,
                lease_expires_at = CASE WHEN @release THEN NULL ELSE lease_expires_at END,
                updated_at = @now
            WHERE id = @id AND (lease_owner = @owner OR (@release AND {releasedByFirstTry}))
            RETURNING CASE WHEN @release AND {ActiveStatus} AND run_after <= @now
                THEN EXISTS (SELECT FROM pg_notify(@channel, '')) ELSE false END
            """;
        _updateSql = update;

        // The run's update with a step's end in one statement: the update is the lease check (it locks the run row, so a
        // takeover either committed before it and nothing is written, or waits), and the step's rows are written only
        // from its row. One statement, so the three rows commit together or not at all.
        _updateWithStepSql = $"""
            WITH upd AS (
            {update}
            ), {PostgresStepStore.FinishedCtes(s, "upd")}
            SELECT * FROM upd
            """;

        _cancelNowSql = $"""
            UPDATE {s}.runs SET status = {Of(RunStatus.Cancelled)}, completed_at = @now, updated_at = @now, failure = @failure
            WHERE id = @id
            RETURNING {RunColumns}
            """;

        // A suspended run has no worker; making it due (and announcing it) lets one claim it and act on the request.
        _cancelRequestSql = $"""
            UPDATE {s}.runs SET cancel_requested = true, updated_at = @now,
                run_after = CASE WHEN status = {Of(RunStatus.Suspended)} THEN @now ELSE run_after END
            WHERE id = @id
            RETURNING {RunColumns},
                CASE WHEN status = {Of(RunStatus.Suspended)} AND lease_owner IS NULL THEN EXISTS (SELECT FROM pg_notify(@channel, '')) ELSE false END
            """;

        _holderSql = $"""
            SELECT (SELECT count(*) FROM {s}.runs WHERE concurrency_key = @key AND {ActiveStatus}), {RunColumns}
            FROM {s}.runs WHERE concurrency_key = @key AND {ActiveStatus}
            ORDER BY created_at, id LIMIT 1
            """;

        _reopenSql = ReopenFailed($"{s}.steps", "@id", "@step", "@now");
        _spendSql = SpendFailedWaitEvent($"{s}.steps", $"{s}.run_events", "@id", "@step");
        _retrySql = $"""
            UPDATE {s}.runs SET status = @status, completed_at = NULL, cancel_requested = false,
                failure = CASE WHEN @status = {Of(RunStatus.Compensating)} THEN failure ELSE NULL END,
                lease_owner = NULL, lease_expires_at = NULL, run_after = @now, deadline_at = @deadline, updated_at = @now
            WHERE id = @id
            RETURNING {RunColumns}, EXISTS (SELECT FROM pg_notify(@channel, ''))
            """;
    }

    public async Task<CreateRunResult> CreateRunAsync(CreateRunRequest request, CancellationToken cancellationToken = default)
    {
        Validate(request);
        if (request.ConcurrencyKey is null)
        {
            // One statement with no lock to wait on: it shares the writer's group commit.
            var created = await _store.Writer.WriteAsync(
                WriterRoute(request),
                CreateCommand(request),
                async reader => await reader.ReadAsync().ConfigureAwait(false)
                    ? new CreateRunResult((CreateRunOutcome)reader.GetInt32(0), Run(reader, 1))
                    : null,
                cancellationToken,
                afterLostAnswer: () => CreateCommand(request, again: true)).ConfigureAwait(false);
            if (created is not null)
            {
                return created;
            }
        }
        else
        {
            // The key's advisory lock may be held by another node: these share commits in a loop of their own.
            return await _store.Creates.CreateAsync(request, cancellationToken).ConfigureAwait(false);
        }

        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await CreateAsync(connection, null, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One transaction and one round trip for the batch: advisory locks first, then one create statement per run in the
    /// order given; each statement sees the rows of the ones before it. The locks cover the batch's concurrency keys
    /// and also its idempotency keys and schedule fires, taken in one sorted order: two batches naming the same keys in
    /// different orders would otherwise each insert one and wait on the other's unique index entry (a deadlock); with
    /// the locks the later batch waits before inserting and then sees the earlier batch's runs. A create that met a row
    /// committed by another transaction meanwhile is read again afterwards.
    /// </summary>
    public async Task<IReadOnlyList<CreateRunResult>> CreateRunsAsync(CreateRunsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        if (request.Runs.Count == 0)
        {
            return [];
        }

        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await CreateManyAsync(connection, request.Runs, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The transaction of <see cref="CreateRunsAsync"/> on <paramref name="connection"/>: one result per run, in order.
    /// <paramref name="again"/>: the creates run again after a try whose answer was lost (see <see cref="CreateCommand"/>).
    /// </summary>
    internal async Task<CreateRunResult[]> CreateManyAsync(
        NpgsqlConnection connection, IReadOnlyList<CreateRunRequest> runs, CancellationToken cancellationToken, bool again = false)
    {
        var keys = runs.SelectMany(BatchLockKeys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var results = new CreateRunResult?[runs.Count];
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            foreach (var key in keys)
            {
                var lockCommand = new NpgsqlBatchCommand(LockSql);
                lockCommand.Parameters.Text("lock", key);
                batch.BatchCommands.Add(lockCommand);
            }

            foreach (var run in runs)
            {
                batch.BatchCommands.Add(CreateCommand(run, again));
            }

            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < keys.Count; i++)
            {
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            }

            for (var i = 0; i < runs.Count; i++)
            {
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    results[i] = new CreateRunResult((CreateRunOutcome)reader.GetInt32(0), Run(reader, 1));
                }

                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        for (var i = 0; i < results.Length; i++)
        {
            results[i] ??= await ExistingAsync(connection, transaction, runs[i], cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return results!;
    }

    public async Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetAsync(connection, null, runId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<RunRecordPage> ListRunsAsync(ListRunsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var limit = Math.Clamp(request.Limit, 1, RunLimits.MaxPageSize);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // The statement text varies only with which filters are set (a handful of shapes); values are parameters.
        var where = WorkflowFilter(command, request.Workflow);

        if (request.Status is { } status)
        {
            where.Add("status = @status");
            command.Parameters.Int("status", (int)status);
        }

        if (request.Statuses is { Count: > 0 } statuses)
        {
            where.Add("status = ANY(@statuses)");
            command.Parameters.IntArray("statuses", statuses.Select(st => (int)st).Distinct().ToArray());
        }

        if (request.CreatedAfter is { } after)
        {
            where.Add("created_at >= @after");
            command.Parameters.Time("after", after);
        }

        if (request.CreatedBefore is { } before)
        {
            where.Add("created_at < @before");
            command.Parameters.Time("before", before);
        }

        if (request.ParentRunId is not null)
        {
            where.Add("parent_run_id = @parent_run_id");
            command.Parameters.Text("parent_run_id", request.ParentRunId);
        }

        if (request.Cursor is not null)
        {
            where.Add("id < @cursor");
            command.Parameters.Text("cursor", request.Cursor);
        }

        if (request.IdsFrom is not null)
        {
            where.Add("id >= @ids_from");
            command.Parameters.Text("ids_from", request.IdsFrom);
        }

        if (request.IdsBelow is not null)
        {
            where.Add("id < @ids_below");
            command.Parameters.Text("ids_below", request.IdsBelow);
        }

        command.CommandText =
            $"SELECT {(request.WithoutPayloads ? RunColumnsWithoutPayloads : RunColumns)} FROM {_schema}.runs {WhereClause(where)} " +
            "ORDER BY id DESC LIMIT @limit";
        command.Parameters.Int("limit", limit + 1);
        var runs = await ReadAllAsync(command, r => Run(r), cancellationToken).ConfigureAwait(false);
        if (runs.Count <= limit)
        {
            return new RunRecordPage(runs, null);
        }

        runs.RemoveAt(runs.Count - 1);
        return new RunRecordPage(runs, runs[^1].Id);
    }

    public async Task<RunCounts> CountRunsAsync(CountRunsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // Four statement shapes at most; a filter left out keeps ix_runs_status or ix_runs_workflow usable.
        var where = WorkflowFilter(command, request.Workflow);

        if (request.Statuses is { Count: > 0 } statuses)
        {
            where.Add("status = ANY(@statuses)");
            command.Parameters.IntArray("statuses", statuses.Select(st => (int)st).Distinct().ToArray());
        }

        command.CommandText =
            $"SELECT status, count(*) FROM {_schema}.runs {WhereClause(where)} GROUP BY status";
        var rows = await ReadAllAsync(command, r => (Status: (RunStatus)r.GetInt32(0), Count: r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
        return new RunCounts(rows.ToDictionary(row => row.Status, row => row.Count));
    }

    public async Task<IReadOnlyList<RunRecord>> ClaimRunsAsync(ClaimRunsRequest request, CancellationToken cancellationToken = default)
    {
        if (_store.Identity.Lost)
        {
            return [];
        }

        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Owner);
        if (request.MaxRuns <= 0)
        {
            return [];
        }

        // A worker claims one batch after another: on a kept connection (see KeptConnection).
        var token = Guid.CreateVersion7();
        List<RunRecord> runs;
        try
        {
            runs = await ClaimOnceAsync(request, token, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgresWriterLane.AnswerLost(ex) && !cancellationToken.IsCancellationRequested)
        {
            // The claim may have committed (the answer was lost after it): the runs it took are leased to this owner, which
            // would not run them until their leases ran out. Read on a new connection, they are this claim's result (a
            // takeover among them is not reported as one). If it took none, or did not commit, the claim runs once more.
            // Should this fail too, or the claim's backend commit only after the read, the runs wait for their leases to
            // run out as before.
            _store.ClaimAnswerLost(ex);
            runs = await ClaimedAsync(request, token, cancellationToken).ConfigureAwait(false);
            if (runs.Count == 0)
            {
                runs = await ClaimOnceAsync(request, Guid.CreateVersion7(), cancellationToken).ConfigureAwait(false);
            }
        }

        runs.Sort((a, b) => a.RunAfter != b.RunAfter ? a.RunAfter.CompareTo(b.RunAfter) : string.CompareOrdinal(a.Id, b.Id));
        return runs;
    }

    /// <summary>The claim statement, marking the runs it takes with <paramref name="token"/>.</summary>
    private Task<List<RunRecord>> ClaimOnceAsync(ClaimRunsRequest request, Guid token, CancellationToken cancellationToken) =>
        _claimConnection.UseAsync(async connection =>
        {
            await using var command = new NpgsqlCommand(_claimSql, connection);
            command.Parameters
                .Text("owner", request.Owner)
                .Time("expires", request.LeaseExpiresAt)
                .Time("now", request.Now)
                .Int("max", request.MaxRuns)
                .TextArray("workflows", request.Workflows?.ToArray())
                .TextArray("versions", request.WorkflowVersions?.ToArray())
                .Uuid("token", token);
            return await ReadAllAsync(
                command,
                r => r.GetBoolean(RunColumnCount) ? Run(r) with { TakenOver = true } : Run(r),
                cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>The runs the claim with <paramref name="token"/> took, if it committed (see <see cref="ClaimRunsAsync"/>).</summary>
    private Task<List<RunRecord>> ClaimedAsync(ClaimRunsRequest request, Guid token, CancellationToken cancellationToken) =>
        _claimConnection.UseAsync(async connection =>
        {
            await using var command = new NpgsqlCommand(_claimedSql, connection);
            command.Parameters
                .Time("expires", request.LeaseExpiresAt)
                .Text("owner", request.Owner)
                .Uuid("token", token);
            return await ReadAllAsync(command, r => Run(r), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public async Task<RenewLeasesResult> RenewLeasesAsync(RenewLeasesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Owner);
        if (request.RunIds.Count == 0)
        {
            return new RenewLeasesResult([], []);
        }

        // Leases under a node id another live process took are worth nothing: every run is reported lost, so the worker
        // stops them (see PostgresNodeIdentity).
        try
        {
            await _store.Identity.EnsureHeldAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NodeIdLostException)
        {
            return new RenewLeasesResult([.. request.RunIds], []);
        }

        // A renewal touches many runs: each lane renews its own, so no lane's batch locks another lane's rows.
        var byLane = request.RunIds.GroupBy(_store.Writer.LaneOf).Select(lane => RenewAsync(request, lane.ToArray(), cancellationToken));
        var renewed = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var rows in await Task.WhenAll(byLane).ConfigureAwait(false))
        {
            foreach (var (id, cancel) in rows)
            {
                renewed[id] = cancel;
            }
        }

        var lost = new List<string>();
        var cancelRequested = new List<string>();
        foreach (var id in request.RunIds)
        {
            if (!renewed.TryGetValue(id, out var cancel))
            {
                lost.Add(id);
            }
            else if (cancel)
            {
                cancelRequested.Add(id);
            }
        }

        return new RenewLeasesResult(lost, cancelRequested);
    }

    private Task<Dictionary<string, bool>> RenewAsync(RenewLeasesRequest request, string[] ids, CancellationToken cancellationToken)
    {
        var command = new NpgsqlBatchCommand(_renewSql);
        command.Parameters
            .Time("expires", request.LeaseExpiresAt)
            .TextArray("ids", ids)
            .Text("owner", request.Owner);
        return _store.Writer.WriteAsync(ids[0], command, async reader =>
        {
            var rows = new Dictionary<string, bool>(StringComparer.Ordinal);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                rows[reader.GetString(0)] = reader.GetBoolean(1);
            }

            return rows;
        }, cancellationToken);
    }

    public async Task<bool> ReleaseLeaseAsync(ReleaseLeaseRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await _store.Writer.WriteAsync(
            request.RunId, ReleaseCommand(request, again: false), AnyRowAsync, cancellationToken,
            afterLostAnswer: () => ReleaseCommand(request, again: true)).ConfigureAwait(false);
    }

    private NpgsqlBatchCommand ReleaseCommand(ReleaseLeaseRequest request, bool again)
    {
        var command = new NpgsqlBatchCommand(_releaseSql);
        command.Parameters
            .Time("now", request.Now)
            .Text("id", request.RunId)
            .Text("owner", request.Owner)
            .Text("channel", _store.Channel)
            .Bool("again", again);
        return command;
    }

    public async Task<bool> UpdateRunAsync(UpdateRunRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.ThrowIfInvalid();
        return await _store.Writer.WriteAsync(
            request.RunId, UpdateCommand(request, again: false), AnyRowAsync, cancellationToken,
            afterLostAnswer: request.ReleaseLease ? () => UpdateCommand(request, again: true) : null).ConfigureAwait(false);
    }

    private NpgsqlBatchCommand UpdateCommand(UpdateRunRequest request, bool again)
    {
        var command = new NpgsqlBatchCommand(request.EndedAttempt is null ? _updateSql : _updateWithStepSql);
        command.Parameters
            .Int("status", request.Status is { } s ? (int)s : null)
            .Text("phase", request.Phase)
            .Json("progress", RunStateJson.Progress(request.Progress))
            .Json("errors", RunStateJson.Errors(request.Errors))
            .Text("output", request.Output)
            .Json("failure", RunStateJson.Failure(request.Failure))
            .Time("run_after", request.RunAfter)
            .TextArray("wakes_on", request.WakesOn is null ? null : [.. request.WakesOn])
            .Bool("release", request.ReleaseLease)
            .Time("now", request.Now)
            .Text("id", request.RunId)
            .Text("owner", request.Owner)
            .Text("channel", _store.Channel)
            .Bool("again", again);
        if (request.EndedAttempt is { } ended)
        {
            PostgresStepStore.BindEnded(command.Parameters, ended);
        }

        return command;
    }

    public async Task<CancelRunRecordResult> CancelRunAsync(CancelRunRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var run = await GetAsync(connection, transaction, request.RunId, cancellationToken, forUpdate: true).ConfigureAwait(false);
        if (run is null)
        {
            return new CancelRunRecordResult(CancelRunOutcome.NotFound, null);
        }

        if (run.Status.IsTerminal())
        {
            return new CancelRunRecordResult(CancelRunOutcome.AlreadyFinished, run);
        }

        CancelRunRecordResult result;
        if (run.Status == RunStatus.Pending && run.LeaseOwner is null)
        {
            await using var command = new NpgsqlCommand(_cancelNowSql, connection, transaction);
            command.Parameters
                .Time("now", request.Now)
                .Json("failure", RunStateJson.Failure(RunFailure.CancelledByRequest()))
                .Text("id", run.Id);
            result = new CancelRunRecordResult(CancelRunOutcome.Cancelled, await ReadOneAsync(command, r => Run(r), cancellationToken).ConfigureAwait(false));
        }
        else
        {
            await using var command = new NpgsqlCommand(_cancelRequestSql, connection, transaction);
            command.Parameters.Time("now", request.Now).Text("id", run.Id).Text("channel", _store.Channel);
            result = new CancelRunRecordResult(CancelRunOutcome.Requested, await ReadOneAsync(command, r => Run(r), cancellationToken).ConfigureAwait(false));
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public async Task<int> PruneRunsAsync(PruneRunsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.IdsBelow, "request.IdsBelow");
        ArgumentOutOfRangeException.ThrowIfLessThan(request.MaxRuns, 1, "request.MaxRuns");
        // One statement: the runs, their steps, attempts and events go together. SKIP LOCKED: nodes pruning at the
        // same time take different runs, and a run someone is retrying right now is left for next time.
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"""
            WITH doomed AS (
                SELECT id FROM {_schema}.runs
                WHERE id < @below AND {TerminalStatus} AND completed_at < @before AND {ParentGone($"{_schema}.runs", "runs")}
                ORDER BY id LIMIT @max
                FOR UPDATE SKIP LOCKED
            ), attempts AS (
                DELETE FROM {_schema}.step_attempts WHERE run_id IN (SELECT id FROM doomed)
            ), steps AS (
                DELETE FROM {_schema}.steps WHERE run_id IN (SELECT id FROM doomed)
            ), events AS (
                DELETE FROM {_schema}.run_events WHERE run_id IN (SELECT id FROM doomed)
            )
            DELETE FROM {_schema}.runs WHERE id IN (SELECT id FROM doomed)
            """, connection);
        command.Parameters
            .Text("below", request.IdsBelow)
            .Time("before", request.CompletedBefore)
            .Int("max", request.MaxRuns);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<RetryRunRecordResult> RetryRunAsync(RetryRunRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var run = await GetAsync(connection, transaction, request.RunId, cancellationToken, forUpdate: true).ConfigureAwait(false);
        if (run is null)
        {
            return new RetryRunRecordResult(RetryRunOutcome.NotFound, null);
        }

        if (run.RetryTarget() is not { } next)
        {
            return new RetryRunRecordResult(RetryRunOutcome.NotRetryable, run);
        }

        // The runs to retry with it (rows locked parent first, then each child): one in a status that cannot be retried is left.
        var others = new List<(RunRecord Run, RunStatus Next, RetryRunRequest Request)>();
        foreach (var also in request.With)
        {
            if (await GetAsync(connection, transaction, also.RunId, cancellationToken, forUpdate: true).ConfigureAwait(false) is { } other
                && other.RetryTarget() is { } otherNext)
            {
                others.Add((other, otherNext, also));
            }
        }

        // Every concurrency key's advisory lock, in the order batch creates take theirs, so neither waits on the other in a circle.
        var keys = others.Select(o => o.Run.ConcurrencyKey).Prepend(run.ConcurrencyKey).OfType<string>()
            .Select(LockKey).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            await using var lockCommand = new NpgsqlCommand(LockSql, connection, transaction);
            lockCommand.Parameters.Text("lock", key);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // A refused retry writes nothing (the transaction is rolled back): the run's key held, or a child's, whose run the
        // replay would find ended again.
        foreach (var candidate in others.Select(o => o.Run).Prepend(run))
        {
            if (await HolderAtLimitAsync(connection, transaction, candidate, cancellationToken).ConfigureAwait(false) is { } holder)
            {
                return new RetryRunRecordResult(RetryRunOutcome.Conflict, holder);
            }
        }

        foreach (var (other, otherNext, also) in others)
        {
            await RetryAsync(connection, transaction, other, otherNext, also, cancellationToken).ConfigureAwait(false);
        }

        var retried = await RetryAsync(connection, transaction, run, next, request, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RetryRunRecordResult(RetryRunOutcome.Retried, retried);
    }

    /// <summary>The run that holds <paramref name="run"/>'s concurrency key at its limit, or null (after the key's advisory lock).</summary>
    private async Task<RunRecord?> HolderAtLimitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, RunRecord run, CancellationToken cancellationToken)
    {
        if (run.ConcurrencyKey is null)
        {
            return null;
        }

        // A new statement after the lock: its snapshot sees every run committed by the lock's previous holder.
        await using var holderCommand = new NpgsqlCommand(_holderSql, connection, transaction);
        holderCommand.Parameters.Text("key", run.ConcurrencyKey);
        var holders = await ReadAllAsync(holderCommand, r => (Active: r.GetInt64(0), Run: Run(r, 1)), cancellationToken).ConfigureAwait(false);
        return holders.Count > 0 && holders[0].Active >= run.ConcurrencyLimit ? holders[0].Run : null;
    }

    private async Task<RunRecord?> RetryAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, RunRecord run, RunStatus next, RetryRunRequest request, CancellationToken cancellationToken)
    {
        if (next == RunStatus.Pending)
        {
            await using var spend = new NpgsqlCommand(_spendSql, connection, transaction);
            spend.Parameters.Text("id", run.Id).Text("step", run.Failure?.Step);
            await spend.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var reopen = new NpgsqlCommand(_reopenSql, connection, transaction);
            reopen.Parameters.Text("id", run.Id).Text("step", run.Failure?.Step).Time("now", request.Now);
            await reopen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var command = new NpgsqlCommand(_retrySql, connection, transaction);
        command.Parameters
            .Int("status", (int)next)
            .Time("now", request.Now)
            .Time("deadline", request.DeadlineAt)
            .Text("id", run.Id)
            .Text("channel", _store.Channel);
        return await ReadOneAsync(command, r => Run(r), cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _claimConnection.DisposeAsync();

    internal static void Validate(CreateRunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
    }

    /// <summary>
    /// Creation on <paramref name="connection"/>: on its own (<paramref name="transaction"/> null; one batch,
    /// committed alone) or inside a caller's transaction (a schedule fire). With a concurrency key the batch
    /// first takes the key's advisory lock, held to commit, so the count in the create statement sees every
    /// committed holder. Also the second look after a group-committed create returned nothing.
    /// </summary>
    internal async Task<CreateRunResult> CreateAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, CreateRunRequest request, CancellationToken cancellationToken)
    {
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            if (request.ConcurrencyKey is not null)
            {
                var lockCommand = new NpgsqlBatchCommand(LockSql);
                lockCommand.Parameters.Text("lock", LockKey(request.ConcurrencyKey));
                batch.BatchCommands.Add(lockCommand);
            }

            var create = CreateCommand(request);
            batch.BatchCommands.Add(create);

            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (request.ConcurrencyKey is not null)
            {
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            }

            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var outcome = (CreateRunOutcome)reader.GetInt32(0);
                return new CreateRunResult(outcome, Run(reader, 1));
            }
        }

        return await ExistingAsync(connection, transaction, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The insert met a unique index on a row committed after the statement's snapshot (a concurrent create with
    /// the same idempotency key or schedule fire): a new statement sees it.
    /// </summary>
    private async Task<CreateRunResult> ExistingAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, CreateRunRequest request, CancellationToken cancellationToken)
    {
        await using var existing = new NpgsqlCommand(_existingSql, connection, transaction);
        existing.Parameters
            .Text("workflow", request.Workflow)
            .Text("idempotency_key", request.IdempotencyKey)
            .Text("schedule_name", request.ScheduleName)
            .Time("scheduled_fire_time", request.ScheduledFireTime);
        var run = await ReadOneAsync(existing, r => Run(r), cancellationToken).ConfigureAwait(false);
        return run is not null
            ? new CreateRunResult(CreateRunOutcome.Existing, run)
            : throw new InvalidOperationException($"A run with id '{request.Id}' already exists.");
    }

    /// <summary>
    /// The writer lane of a create: by its idempotency key or schedule fire if it has one, so two creates of the same
    /// key from this node queue on one lane (the second finds the first's run) instead of meeting on the unique index
    /// from two; else by the run id, the lane of the run's later writes. Those are queued only after the create
    /// committed, so their order holds either way.
    /// </summary>
    private static string WriterRoute(CreateRunRequest request) =>
        request.IdempotencyKey is { } key ? request.Workflow + "\n" + key
        : request.ScheduleName is { } schedule ? schedule + "\n" + request.ScheduledFireTime?.UtcTicks
        : request.Id;

    /// <summary>
    /// The create statement of <paramref name="request"/>. <paramref name="again"/>: it runs again after a try whose answer
    /// was lost, which may have committed; the run that try stored is then found and reported created.
    /// </summary>
    private NpgsqlBatchCommand CreateCommand(CreateRunRequest request, bool again = false)
    {
        var plain = !again && request is { IdempotencyKey: null, ScheduleName: null, ConcurrencyKey: null };
        var create = new NpgsqlBatchCommand(plain ? _createPlainSql : _createSql);
        create.Parameters
            .Text("id", request.Id)
            .Text("workflow", request.Workflow)
            .Text("input", request.Input)
            .Text("idempotency_key", request.IdempotencyKey)
            .Text("concurrency_key", request.ConcurrencyKey)
            .Int("concurrency_limit", request.ConcurrencyLimit)
            .Text("schedule_name", request.ScheduleName)
            .Time("scheduled_fire_time", request.ScheduledFireTime)
            .Text("correlation_id", request.CorrelationId)
            .Time("now", request.Now)
            .Time("run_after", request.RunAfter ?? request.Now)
            .Time("deadline_at", request.DeadlineAt)
            .Text("lease_owner", request.LeaseOwner)
            .Time("lease_expires_at", request.LeaseExpiresAt)
            .Text("parent_run_id", request.ParentRunId)
            .Int("workflow_version", request.WorkflowVersion)
            .Text("trace_parent", request.TraceParent)
            .Text("trace_state", request.TraceState)
            .Text("channel", _store.Channel);
        if (!plain)
        {
            create.Parameters.Bool("again", again);
        }

        return create;
    }

    /// <summary>True if the statement returned a row (the fenced write applied).</summary>
    private static async Task<bool> AnyRowAsync(NpgsqlDataReader reader) => await reader.ReadAsync().ConfigureAwait(false);

    private const string LockSql = "SELECT pg_advisory_xact_lock(hashtextextended(@lock, 0))";

    /// <summary>The advisory lock name of a concurrency key; the schema is part of it, so schemas do not contend.</summary>
    /// <summary>The advisory locks a run of a batch create takes: its concurrency key's, its idempotency key's, its schedule fire's.</summary>
    private IEnumerable<string> BatchLockKeys(CreateRunRequest run)
    {
        if (run.ConcurrencyKey is not null)
        {
            yield return LockKey(run.ConcurrencyKey);
        }

        if (run.IdempotencyKey is not null)
        {
            yield return $"baton:{_store.Schema}:idempotency:{run.Workflow}\n{run.IdempotencyKey}";
        }

        if (run is { ScheduleName: not null, ScheduledFireTime: { } fire })
        {
            yield return $"baton:{_store.Schema}:fire:{run.ScheduleName}\n{fire.UtcTicks}";
        }
    }

    private string LockKey(string concurrencyKey) => $"baton:{_store.Schema}:concurrency:{concurrencyKey}";

    private async Task<RunRecord?> GetAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string id, CancellationToken cancellationToken, bool forUpdate = false)
    {
        await using var command = new NpgsqlCommand(forUpdate ? _selectById + " FOR UPDATE" : _selectById, connection, transaction);
        command.Parameters.Text("id", id);
        return await ReadOneAsync(command, r => Run(r), cancellationToken).ConfigureAwait(false);
    }

    private static string Qualified(string alias) =>
        string.Join(", ", RunColumns.Split(", ").Select(c => $"{alias}.{c}"));

    /// <summary>The filters of a listing or count, starting with the workflow's if one is given.</summary>
    private static List<string> WorkflowFilter(NpgsqlCommand command, string? workflow)
    {
        var where = new List<string>();
        if (workflow is not null)
        {
            where.Add("workflow = @workflow");
            command.Parameters.Text("workflow", workflow);
        }

        return where;
    }

    /// <summary>The WHERE clause of the filters set (nothing when none is): a few statement shapes, values always parameters.</summary>
    private static string WhereClause(List<string> where) => where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where);
}
