using static Baton.Storage.Sqlite.Internal.SqliteRows;

namespace Baton.Storage.Sqlite.Internal;

internal sealed class SqliteScheduleStore(SqliteBatonStore store) : IScheduleStore
{
    // A replace with the same cron and time zone keeps the due fire time: a schedule written again at every start (from
    // configuration) must not lose a fire that fell due while the process was down.
    private const string UpsertSql = $"""
        INSERT INTO schedules (name, workflow, cron, time_zone, input, enabled, misfire, next_fire_at, created_at, updated_at)
        VALUES ($name, $workflow, $cron, $time_zone, $input, $enabled, $misfire, $next_fire_at, $now, $now)
        ON CONFLICT (name) DO UPDATE SET
            workflow = excluded.workflow, cron = excluded.cron, time_zone = excluded.time_zone, input = excluded.input,
            enabled = excluded.enabled, misfire = excluded.misfire,
            next_fire_at = CASE
                WHEN schedules.enabled = 1 AND excluded.enabled = 1 AND schedules.cron = excluded.cron
                    AND schedules.time_zone = excluded.time_zone AND schedules.next_fire_at IS NOT NULL
                THEN schedules.next_fire_at ELSE excluded.next_fire_at END,
            updated_at = excluded.updated_at
        RETURNING {ScheduleColumns}
        """;

    // Only the enabled flag (and the next fire time that goes with it: none while disabled, an enabled schedule's own kept),
    // only while the schedule is as it was read: a delete or a replace since then is not undone.
    private const string SetEnabledSql = $"""
        UPDATE schedules SET
            enabled = $enabled,
            next_fire_at = CASE
                WHEN $enabled = 0 THEN NULL
                WHEN enabled = 1 AND next_fire_at IS NOT NULL THEN next_fire_at
                ELSE $next_fire_at END,
            updated_at = $now
        WHERE name = $name AND workflow = $workflow AND cron = $cron AND time_zone = $time_zone
        RETURNING {ScheduleColumns}
        """;

    private const string AfterFireSql = """
        UPDATE schedules SET
            last_fire_at = $fire_time,
            last_run_id = COALESCE($run_id, last_run_id),
            next_fire_at = CASE WHEN next_fire_at IS $expected THEN $next ELSE next_fire_at END,
            updated_at = $now
        WHERE name = $name
        """;

    private const string AlreadyFiredSql = """
        UPDATE schedules SET next_fire_at = $next, updated_at = $now
        WHERE name = $name AND enabled = 1 AND next_fire_at IS $expected AND $fire_time IS $expected
            AND EXISTS (SELECT 1 FROM schedule_fires WHERE schedule_name = $name AND fire_time = $fire_time)
        """;

    public Task<UpsertScheduleResult> UpsertScheduleAsync(UpsertScheduleRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Name, "request.Name");
        ArgumentException.ThrowIfNullOrEmpty(request.Workflow, "request.Workflow");
        ArgumentException.ThrowIfNullOrEmpty(request.Cron, "request.Cron");
        ArgumentException.ThrowIfNullOrEmpty(request.TimeZone, "request.TimeZone");
        return store.WriteAsync(
            ctx =>
            {
                // In the writer's transaction, so no other write comes between this read and the upsert: of concurrent
                // upserts of a new name exactly one finds no row and reports that it created it.
                var existed = ctx.Command("SELECT 1 FROM schedules WHERE name = $name").With("$name", request.Name).ExecuteScalar() is not null;
                var stored = ReadOne(
                    ctx.Command(UpsertSql)
                        .With("$name", request.Name)
                        .With("$workflow", request.Workflow)
                        .With("$cron", request.Cron)
                        .With("$time_zone", request.TimeZone)
                        .With("$input", request.Input)
                        .With("$enabled", request.Enabled ? 1 : 0)
                        .With("$misfire", (int)request.Misfire)
                        .With("$next_fire_at", request.NextFireAt)
                        .With("$now", request.Now),
                    Schedule)!;
                return new UpsertScheduleResult(stored, !existed);
            },
            cancellationToken);
    }

    public Task<ScheduleRecord?> GetScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return store.ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {ScheduleColumns} FROM schedules WHERE name = $name";
            return ReadOne(command.With("$name", name), Schedule);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ScheduleRecord>> ListSchedulesAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<ScheduleRecord>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {ScheduleColumns} FROM schedules ORDER BY name";
            return ReadAll(command, Schedule);
        }, cancellationToken);

    public Task<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return store.WriteAsync(ctx =>
        {
            ctx.Command("DELETE FROM schedule_fires WHERE schedule_name = $name").With("$name", name).ExecuteNonQuery();
            return ctx.Command("DELETE FROM schedules WHERE name = $name").With("$name", name).ExecuteNonQuery() > 0;
        }, cancellationToken);
    }

    public Task<ScheduleRecord?> SetScheduleEnabledAsync(SetScheduleEnabledRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Name, "request.Name");
        return store.WriteAsync(
            ctx => ReadOne(
                ctx.Command(SetEnabledSql)
                    .With("$name", request.Name)
                    .With("$enabled", request.Enabled ? 1 : 0)
                    .With("$next_fire_at", request.NextFireAt)
                    .With("$workflow", request.Workflow)
                    .With("$cron", request.Cron)
                    .With("$time_zone", request.TimeZone)
                    .With("$now", request.Now),
                Schedule),
            cancellationToken);
    }

    public Task<IReadOnlyList<ScheduleRecord>> GetDueSchedulesAsync(DueSchedulesRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return store.ReadAsync<IReadOnlyList<ScheduleRecord>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                SELECT {ScheduleColumns} FROM schedules
                WHERE enabled = 1 AND next_fire_at <= $now
                    AND ($workflows IS NULL OR workflow IN (SELECT value FROM json_each($workflows)))
                ORDER BY next_fire_at, name LIMIT $max
                """;
            var workflows = request.Workflows is null ? null : System.Text.Json.JsonSerializer.Serialize(request.Workflows.ToArray());
            return ReadAll(command.With("$now", request.Now).With("$max", Math.Max(request.Max, 0)).With("$workflows", workflows), Schedule);
        }, cancellationToken);
    }

    public Task<int> PruneFiresAsync(PruneFiresRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.MaxFires, 1, "request.MaxFires");
        return store.WriteAsync(ctx => ctx.Command("""
                DELETE FROM schedule_fires WHERE (schedule_name, fire_time) IN (
                    SELECT schedule_name, fire_time FROM schedule_fires WHERE fire_time < $before LIMIT $max)
                """)
            .With("$before", request.FiredBefore)
            .With("$max", request.MaxFires)
            .ExecuteNonQuery(), cancellationToken);
    }

    public Task<FireScheduleResult> FireScheduleAsync(FireScheduleRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.ScheduleName, "request.ScheduleName");
        if (request.Run is not null)
        {
            SqliteRunStore.Validate(request.Run);
        }

        return store.WriteAsync(ctx =>
        {
            // Only while the schedule is as the scheduler read it (enabled, this fire time next): a disable, delete or new cron
            // stored after that read fires nothing from the old definition (before: one more run after the change returned).
            var inserted = ctx.Command("""
                    INSERT INTO schedule_fires (schedule_name, fire_time, fired_at)
                    SELECT $name, $fire_time, $now
                    WHERE EXISTS (SELECT 1 FROM schedules WHERE name = $name AND enabled = 1 AND next_fire_at IS $expected
                        AND ($check = 0 OR (workflow = $workflow AND input IS $input)))
                    ON CONFLICT (schedule_name, fire_time) DO NOTHING
                    """)
                .With("$name", request.ScheduleName)
                .With("$fire_time", request.FireTime)
                .With("$now", request.Now)
                .With("$expected", request.ExpectedNextFireAt)
                .With("$check", request.ReadAs is null ? 0 : 1)
                .With("$workflow", request.ReadAs?.Workflow)
                .With("$input", request.ReadAs?.Input)
                .ExecuteNonQuery();
            if (inserted == 0)
            {
                // The schedule is as read but its next fire time is one already fired (stored by a node whose clock is behind:
                // a re-enable or a new cron): it moves on, or every tick would stop here and it would never fire again.
                ctx.Command(AlreadyFiredSql)
                    .With("$name", request.ScheduleName)
                    .With("$fire_time", request.FireTime)
                    .With("$expected", request.ExpectedNextFireAt)
                    .With("$next", request.NewNextFireAt)
                    .With("$now", request.Now)
                    .ExecuteNonQuery();
                return new FireScheduleResult(false, null);
            }

            CreateRunResult? created = request.Run is null ? null : SqliteRunStore.Create(ctx, request.Run);
            var runId = created is { Outcome: not CreateRunOutcome.Conflict } ? created.Run.Id : null;
            if (runId is not null)
            {
                ctx.Command("UPDATE schedule_fires SET run_id = $run_id WHERE schedule_name = $name AND fire_time = $fire_time")
                    .With("$run_id", runId)
                    .With("$name", request.ScheduleName)
                    .With("$fire_time", request.FireTime)
                    .ExecuteNonQuery();
            }

            ctx.Command(AfterFireSql)
                .With("$fire_time", request.FireTime)
                .With("$run_id", runId)
                .With("$expected", request.ExpectedNextFireAt)
                .With("$next", request.NewNextFireAt)
                .With("$now", request.Now)
                .With("$name", request.ScheduleName)
                .ExecuteNonQuery();
            return new FireScheduleResult(true, created);
        }, cancellationToken);
    }
}
