using Npgsql;
using static Baton.Storage.Postgres.Internal.PostgresRows;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// Schedules. A fire is recorded by inserting its (schedule, fire time) row under the primary key: of
/// any number of nodes firing the same time, exactly one inserts it and creates the run, in one transaction.
/// </summary>
internal sealed class PostgresScheduleStore : IScheduleStore
{
    private readonly PostgresBatonStore _store;
    private readonly PostgresRunStore _runs;
    private readonly string _upsertSql;
    private readonly string _getSql;
    private readonly string _listSql;
    private readonly string _deleteSql;
    private readonly string _setEnabledSql;
    private readonly string _dueSql;
    private readonly string _fireSql;
    private readonly string _afterFireSql;
    private readonly string _alreadyFiredSql;
    private readonly string _pruneFiresSql;

    public PostgresScheduleStore(PostgresBatonStore store, string s, PostgresRunStore runs)
    {
        _store = store;
        _runs = runs;
        _pruneFiresSql = $"""
            DELETE FROM {s}.schedule_fires WHERE (schedule_name, fire_time) IN (
                SELECT schedule_name, fire_time FROM {s}.schedule_fires WHERE fire_time < @before LIMIT @max)
            """;
        // A replace with the same cron and time zone keeps the due fire time (see the SQLite store). The row an INSERT
        // created has no xmax; the one ON CONFLICT DO UPDATE wrote carries this transaction's lock in it: so the statement
        // itself says which it did, and of concurrent upserts of a new name exactly one (the insert the others waited on)
        // reports created.
        _upsertSql = $"""
            INSERT INTO {s}.schedules AS sc (name, workflow, cron, time_zone, input, enabled, misfire, next_fire_at, created_at, updated_at)
            VALUES (@name, @workflow, @cron, @time_zone, @input, @enabled, @misfire, @next_fire_at, @now, @now)
            ON CONFLICT (name) DO UPDATE SET
                workflow = excluded.workflow, cron = excluded.cron, time_zone = excluded.time_zone, input = excluded.input,
                enabled = excluded.enabled, misfire = excluded.misfire,
                next_fire_at = CASE
                    WHEN sc.enabled AND excluded.enabled AND sc.cron = excluded.cron AND sc.time_zone = excluded.time_zone
                        AND sc.next_fire_at IS NOT NULL
                    THEN sc.next_fire_at ELSE excluded.next_fire_at END,
                updated_at = excluded.updated_at
            RETURNING {ScheduleColumns}, sc.xmax = 0
            """;
        _getSql = $"SELECT {ScheduleColumns} FROM {s}.schedules WHERE name = @name";
        _listSql = $"SELECT {ScheduleColumns} FROM {s}.schedules ORDER BY name";
        _deleteSql = $"""
            WITH fires AS (DELETE FROM {s}.schedule_fires WHERE schedule_name = @name)
            DELETE FROM {s}.schedules WHERE name = @name
            """;
        // See the SQLite store.
        _setEnabledSql = $"""
            UPDATE {s}.schedules SET
                enabled = @enabled,
                next_fire_at = CASE
                    WHEN NOT @enabled THEN NULL
                    WHEN enabled AND next_fire_at IS NOT NULL THEN next_fire_at
                    ELSE @next_fire_at END,
                updated_at = @now
            WHERE name = @name AND workflow = @workflow AND cron = @cron AND time_zone = @time_zone
            RETURNING {ScheduleColumns}
            """;
        _dueSql = $"""
            SELECT {ScheduleColumns} FROM {s}.schedules
            WHERE enabled AND next_fire_at <= @now
                AND (@workflows::text[] IS NULL OR array_position(@workflows, workflow::text) IS NOT NULL)
            ORDER BY next_fire_at, name LIMIT @max
            """;
        _fireSql = $"""
            INSERT INTO {s}.schedule_fires (schedule_name, fire_time, fired_at)
            SELECT @name, @fire_time, @now FROM {s}.schedules
            WHERE name = @name AND enabled AND next_fire_at IS NOT DISTINCT FROM @expected
                AND (NOT @check OR (workflow = @workflow AND input IS NOT DISTINCT FROM @input))
            FOR UPDATE
            ON CONFLICT (schedule_name, fire_time) DO NOTHING
            RETURNING 1
            """;
        _alreadyFiredSql = $"""
            UPDATE {s}.schedules SET next_fire_at = @next, updated_at = @now
            WHERE name = @name AND enabled AND next_fire_at IS NOT DISTINCT FROM @expected AND next_fire_at = @fire_time
                AND EXISTS (SELECT FROM {s}.schedule_fires WHERE schedule_name = @name AND fire_time = @fire_time)
            """;
        _afterFireSql = $"""
            WITH fire AS (
                UPDATE {s}.schedule_fires SET run_id = @run_id
                WHERE schedule_name = @name AND fire_time = @fire_time AND @run_id IS NOT NULL
            )
            UPDATE {s}.schedules SET
                last_fire_at = @fire_time,
                last_run_id = COALESCE(@run_id, last_run_id),
                next_fire_at = CASE WHEN next_fire_at IS NOT DISTINCT FROM @expected THEN @next ELSE next_fire_at END,
                updated_at = @now
            WHERE name = @name
            """;
    }

    public async Task<UpsertScheduleResult> UpsertScheduleAsync(UpsertScheduleRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Name, "request.Name");
        ArgumentException.ThrowIfNullOrEmpty(request.Workflow, "request.Workflow");
        ArgumentException.ThrowIfNullOrEmpty(request.Cron, "request.Cron");
        ArgumentException.ThrowIfNullOrEmpty(request.TimeZone, "request.TimeZone");
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_upsertSql, connection);
        command.Parameters
            .Text("name", request.Name)
            .Text("workflow", request.Workflow)
            .Text("cron", request.Cron)
            .Text("time_zone", request.TimeZone)
            .Text("input", request.Input)
            .Bool("enabled", request.Enabled)
            .Int("misfire", (int)request.Misfire)
            .Time("next_fire_at", request.NextFireAt)
            .Time("now", request.Now);
        // Column 12, after the twelve ScheduleColumns: whether the row was inserted.
        return (await ReadOneAsync(command, r => new UpsertScheduleResult(Schedule(r), r.GetBoolean(12)), cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<ScheduleRecord?> GetScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_getSql, connection);
        command.Parameters.Text("name", name);
        return await ReadOneAsync(command, Schedule, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_listSql, connection);
        return await ReadAllAsync(command, Schedule, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_deleteSql, connection);
        command.Parameters.Text("name", name);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<ScheduleRecord?> SetScheduleEnabledAsync(SetScheduleEnabledRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Name, "request.Name");
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_setEnabledSql, connection);
        command.Parameters
            .Text("name", request.Name)
            .Bool("enabled", request.Enabled)
            .Time("next_fire_at", request.NextFireAt)
            .Text("workflow", request.Workflow)
            .Text("cron", request.Cron)
            .Text("time_zone", request.TimeZone)
            .Time("now", request.Now);
        return await ReadOneAsync(command, Schedule, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ScheduleRecord>> GetDueSchedulesAsync(DueSchedulesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_dueSql, connection);
        command.Parameters.Time("now", request.Now).Int("max", Math.Max(request.Max, 0)).TextArray("workflows", request.Workflows?.ToArray());
        return await ReadAllAsync(command, Schedule, cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> PruneFiresAsync(PruneFiresRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.MaxFires, 1, "request.MaxFires");
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_pruneFiresSql, connection);
        command.Parameters.Time("before", request.FiredBefore).Int("max", request.MaxFires);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<FireScheduleResult> FireScheduleAsync(FireScheduleRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.ScheduleName, "request.ScheduleName");
        if (request.Run is not null)
        {
            PostgresRunStore.Validate(request.Run);
        }

        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var fire = new NpgsqlCommand(_fireSql, connection, transaction))
        {
            // Only while the schedule is as the scheduler read it (enabled, this fire time next): a disable, delete or new cron
            // committed after that read fires nothing from the old definition. The schedule's row is locked: a concurrent fire
            // of the same time, or a change, waits here for this one's commit and then reads the row as it is.
            fire.Parameters.Text("name", request.ScheduleName).Time("fire_time", request.FireTime).Time("now", request.Now)
                .Time("expected", request.ExpectedNextFireAt)
                .Bool("check", request.ReadAs is not null).Text("workflow", request.ReadAs?.Workflow).Text("input", request.ReadAs?.Input);
            if (await fire.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                // The schedule is as read but its next fire time is one already fired (stored by a node whose clock is
                // behind: a re-enable or a new cron): it moves on, or every tick would stop here and it would never fire again.
                await using var moveOn = new NpgsqlCommand(_alreadyFiredSql, connection, transaction);
                moveOn.Parameters.Text("name", request.ScheduleName).Time("fire_time", request.FireTime)
                    .Time("expected", request.ExpectedNextFireAt).Time("next", request.NewNextFireAt).Time("now", request.Now);
                await moveOn.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new FireScheduleResult(false, null);
            }
        }

        var created = request.Run is null
            ? null
            : await _runs.CreateAsync(connection, transaction, request.Run, cancellationToken).ConfigureAwait(false);
        var runId = created is { Outcome: not CreateRunOutcome.Conflict } ? created.Run.Id : null;
        await using (var after = new NpgsqlCommand(_afterFireSql, connection, transaction))
        {
            after.Parameters
                .Text("run_id", runId)
                .Text("name", request.ScheduleName)
                .Time("fire_time", request.FireTime)
                .Time("expected", request.ExpectedNextFireAt)
                .Time("next", request.NewNextFireAt)
                .Time("now", request.Now);
            await after.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new FireScheduleResult(true, created);
    }
}
