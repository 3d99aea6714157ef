using Baton.Runs;
using Baton.Scheduling;
using Npgsql;
using NpgsqlTypes;

namespace Baton.Storage.Postgres.Internal;

/// <summary>Column lists, row readers and typed parameters shared by the aggregate stores.</summary>
internal static class PostgresRows
{
    public const string RunColumns =
        "id, workflow, status, input, output, phase, progress, errors, failure, idempotency_key, concurrency_key, " +
        "concurrency_limit, schedule_name, scheduled_fire_time, correlation_id, created_at, started_at, completed_at, " +
        "updated_at, run_after, deadline_at, lease_owner, lease_expires_at, cancel_requested, executions, parent_run_id, workflow_version, trace_parent, trace_state";

    /// <summary>How many columns <see cref="RunColumns"/> has (readers of wider rows start after them).</summary>
    public const int RunColumnCount = 29;

    /// <summary><see cref="RunColumns"/> with input and output left out (null), in the same positions, for listings.</summary>
    public static readonly string RunColumnsWithoutPayloads =
        RunColumns.Replace(" input, output,", " NULL AS input, NULL AS output,", StringComparison.Ordinal);

    public const string StepColumns =
        "run_id, key, kind, status, result, error, error_type, attempts, started_at, completed_at";

    public const string AttemptColumns =
        "run_id, step_key, attempt, started_at, ended_at, outcome, error_type, error_message, retry_at";

    public const string ScheduleColumns =
        "name, workflow, cron, time_zone, input, enabled, misfire, next_fire_at, last_fire_at, last_run_id, created_at, updated_at";

    /// <summary>Reads <see cref="RunColumns"/> starting at column <paramref name="o"/>.</summary>
    public static RunRecord Run(NpgsqlDataReader r, int o = 0) => new()
    {
        Id = r.GetString(o),
        Workflow = r.GetString(o + 1),
        Status = (RunStatus)r.GetInt32(o + 2),
        Input = Text(r, o + 3),
        Output = Text(r, o + 4),
        Phase = Text(r, o + 5),
        Progress = RunStateJson.Progress(Text(r, o + 6)),
        Errors = RunStateJson.Errors(Text(r, o + 7)),
        Failure = RunStateJson.Failure(Text(r, o + 8)),
        IdempotencyKey = Text(r, o + 9),
        ConcurrencyKey = Text(r, o + 10),
        ConcurrencyLimit = r.GetInt32(o + 11),
        ScheduleName = Text(r, o + 12),
        ScheduledFireTime = Time(r, o + 13),
        CorrelationId = Text(r, o + 14),
        CreatedAt = Time(r, o + 15)!.Value,
        StartedAt = Time(r, o + 16),
        CompletedAt = Time(r, o + 17),
        UpdatedAt = Time(r, o + 18)!.Value,
        RunAfter = Time(r, o + 19)!.Value,
        DeadlineAt = Time(r, o + 20),
        LeaseOwner = Text(r, o + 21),
        LeaseExpiresAt = Time(r, o + 22),
        CancelRequested = r.GetBoolean(o + 23),
        Executions = r.GetInt32(o + 24),
        ParentRunId = Text(r, o + 25),
        WorkflowVersion = r.GetInt32(o + 26),
        TraceParent = Text(r, o + 27),
        TraceState = Text(r, o + 28),
    };

    public static StepRecord Step(NpgsqlDataReader r) => new()
    {
        RunId = r.GetString(0),
        Key = r.GetString(1),
        Kind = (StepKind)r.GetInt32(2),
        Status = (StepStatus)r.GetInt32(3),
        Result = Text(r, 4),
        Error = Text(r, 5),
        ErrorType = Text(r, 6),
        Attempts = r.GetInt32(7),
        StartedAt = Time(r, 8)!.Value,
        CompletedAt = Time(r, 9),
    };

    public static StepAttemptRecord Attempt(NpgsqlDataReader r) => new()
    {
        RunId = r.GetString(0),
        StepKey = r.GetString(1),
        Attempt = r.GetInt32(2),
        StartedAt = Time(r, 3)!.Value,
        EndedAt = Time(r, 4),
        Outcome = (AttemptOutcome)r.GetInt32(5),
        ErrorType = Text(r, 6),
        ErrorMessage = Text(r, 7),
        RetryAt = Time(r, 8),
    };

    public static ScheduleRecord Schedule(NpgsqlDataReader r) => new()
    {
        Name = r.GetString(0),
        Workflow = r.GetString(1),
        Cron = r.GetString(2),
        TimeZone = r.GetString(3),
        Input = Text(r, 4),
        Enabled = r.GetBoolean(5),
        Misfire = (MisfirePolicy)r.GetInt32(6),
        NextFireAt = Time(r, 7),
        LastFireAt = Time(r, 8),
        LastRunId = Text(r, 9),
        CreatedAt = Time(r, 10)!.Value,
        UpdatedAt = Time(r, 11)!.Value,
    };

    public static async Task<List<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> map, CancellationToken cancellationToken)
    {
        var list = new List<T>();
        PositionalSql.MakePositional(command);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(map(reader));
        }

        return list;
    }

    public static async Task<T?> ReadOneAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> map, CancellationToken cancellationToken)
        where T : class
    {
        PositionalSql.MakePositional(command);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? map(reader) : null;
    }

    public static string? Text(NpgsqlDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    public static DateTimeOffset? Time(NpgsqlDataReader r, int ordinal) =>
        r.IsDBNull(ordinal) ? null : r.GetFieldValue<DateTimeOffset>(ordinal);

    // Typed parameters: the server never has to guess a type (a bare NULL would be "unknown"), and a
    // statement's parameter types stay the same from call to call, so auto-prepared plans are reused.
    // Every text and jsonb value the store sends passes here and is refused before anything is sent when it holds
    // U+0000, which PostgreSQL rejects at the bind: a statement whose first prepared execution fails at the bind stays
    // broken on its connection in Npgsql 10 (issue #6391; see KeptConnection.ForgetAsync), and pooled calls do not
    // forget their prepared statements after a failure.
    public static NpgsqlParameterCollection Text(this NpgsqlParameterCollection p, string name, string? value) =>
        Add(p, name, NpgsqlDbType.Text, NulFree.Text(name, value));

    public static NpgsqlParameterCollection Json(this NpgsqlParameterCollection p, string name, string? value) =>
        Add(p, name, NpgsqlDbType.Jsonb, NulFree.Json(name, value));

    public static NpgsqlParameterCollection Int(this NpgsqlParameterCollection p, string name, int? value) =>
        Add(p, name, NpgsqlDbType.Integer, value);

    public static NpgsqlParameterCollection Bool(this NpgsqlParameterCollection p, string name, bool value) =>
        Add(p, name, NpgsqlDbType.Boolean, value);

    public static NpgsqlParameterCollection Uuid(this NpgsqlParameterCollection p, string name, Guid value) =>
        Add(p, name, NpgsqlDbType.Uuid, value);

    public static NpgsqlParameterCollection IntArray(this NpgsqlParameterCollection p, string name, int[]? value) =>
        Add(p, name, NpgsqlDbType.Array | NpgsqlDbType.Integer, value);

    public static NpgsqlParameterCollection TextArray(this NpgsqlParameterCollection p, string name, string[]? value) =>
        Add(p, name, NpgsqlDbType.Array | NpgsqlDbType.Text, NulFree.TextArray(name, value));

    /// <summary>A timestamptz; Npgsql accepts only UTC offsets, so the value is converted (the instant is unchanged).</summary>
    public static NpgsqlParameterCollection Time(this NpgsqlParameterCollection p, string name, DateTimeOffset? value) =>
        Add(p, name, NpgsqlDbType.TimestampTz, value?.ToUniversalTime());

    private static NpgsqlParameterCollection Add(NpgsqlParameterCollection p, string name, NpgsqlDbType type, object? value)
    {
        p.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });
        return p;
    }
}
