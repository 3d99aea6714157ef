using Baton.Runs;
using Baton.Scheduling;
using Microsoft.Data.Sqlite;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>Column lists and row readers shared by the writer and the readers.</summary>
internal static class SqliteRows
{
    public const string RunColumns =
        "id, workflow, status, input, output, phase, progress, errors, failure, idempotency_key, concurrency_key, " +
        "concurrency_limit, schedule_name, scheduled_fire_time, correlation_id, created_at, started_at, completed_at, " +
        "updated_at, run_after, deadline_at, lease_owner, lease_expires_at, cancel_requested, executions, parent_run_id, workflow_version, trace_parent, trace_state";

    /// <summary><see cref="RunColumns"/> with input and output left out (null), in the same positions, for listings.</summary>
    public static readonly string RunColumnsWithoutPayloads =
        RunColumns.Replace(" input, output,", " NULL AS input, NULL AS output,", StringComparison.Ordinal);

    public const string StepColumns =
        "run_id, key, kind, status, result, error, error_type, attempts, started_at, completed_at";

    public const string AttemptColumns =
        "run_id, step_key, attempt, started_at, ended_at, outcome, error_type, error_message, retry_at";

    public const string ScheduleColumns =
        "name, workflow, cron, time_zone, input, enabled, misfire, next_fire_at, last_fire_at, last_run_id, created_at, updated_at";

    public static RunRecord Run(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Workflow = r.GetString(1),
        Status = (RunStatus)r.GetInt32(2),
        Input = Text(r, 3),
        Output = Text(r, 4),
        Phase = Text(r, 5),
        Progress = RunStateJson.Progress(Text(r, 6)),
        Errors = RunStateJson.Errors(Text(r, 7)),
        Failure = RunStateJson.Failure(Text(r, 8)),
        IdempotencyKey = Text(r, 9),
        ConcurrencyKey = Text(r, 10),
        ConcurrencyLimit = r.GetInt32(11),
        ScheduleName = Text(r, 12),
        ScheduledFireTime = Time(r, 13),
        CorrelationId = Text(r, 14),
        CreatedAt = Time(r, 15)!.Value,
        StartedAt = Time(r, 16),
        CompletedAt = Time(r, 17),
        UpdatedAt = Time(r, 18)!.Value,
        RunAfter = Time(r, 19)!.Value,
        DeadlineAt = Time(r, 20),
        LeaseOwner = Text(r, 21),
        LeaseExpiresAt = Time(r, 22),
        CancelRequested = r.GetInt64(23) != 0,
        Executions = r.GetInt32(24),
        ParentRunId = Text(r, 25),
        WorkflowVersion = r.GetInt32(26),
        TraceParent = Text(r, 27),
        TraceState = Text(r, 28),
    };

    public static StepRecord Step(SqliteDataReader r) => new()
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

    public static StepAttemptRecord Attempt(SqliteDataReader r) => new()
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

    public static ScheduleRecord Schedule(SqliteDataReader r) => new()
    {
        Name = r.GetString(0),
        Workflow = r.GetString(1),
        Cron = r.GetString(2),
        TimeZone = r.GetString(3),
        Input = Text(r, 4),
        Enabled = r.GetInt64(5) != 0,
        Misfire = (MisfirePolicy)r.GetInt32(6),
        NextFireAt = Time(r, 7),
        LastFireAt = Time(r, 8),
        LastRunId = Text(r, 9),
        CreatedAt = Time(r, 10)!.Value,
        UpdatedAt = Time(r, 11)!.Value,
    };

    public static List<T> ReadAll<T>(SqliteCommand command, Func<SqliteDataReader, T> map)
    {
        var list = new List<T>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            list.Add(map(reader));
        }

        return list;
    }

    public static T? ReadOne<T>(SqliteCommand command, Func<SqliteDataReader, T> map)
        where T : class
    {
        using var reader = command.ExecuteReader();
        return reader.Read() ? map(reader) : null;
    }

    private static string? Text(SqliteDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    private static DateTimeOffset? Time(SqliteDataReader r, int ordinal) =>
        r.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(ordinal));
}
