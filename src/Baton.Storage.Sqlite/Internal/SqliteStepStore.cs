using Baton.Runs;
using static Baton.Storage.Sqlite.Internal.SqliteRows;
using static Baton.Storage.StoredValues;

namespace Baton.Storage.Sqlite.Internal;

internal sealed class SqliteStepStore(SqliteBatonStore store) : IStepStore
{
    private const string LeaseHeldSql = "SELECT 1 FROM runs WHERE id = $run AND lease_owner = $owner";

    // A new attempt puts a failed step back to running (after a retry of the run); a succeeded step stays succeeded.
    private static readonly string StepStartedSql = $"""
        INSERT INTO steps (run_id, key, kind, status, attempts, started_at)
        VALUES ($run, $key, $kind, {Of(StepStatus.Running)}, $attempt, $started)
        ON CONFLICT (run_id, key) DO UPDATE SET
            attempts = max(attempts, excluded.attempts),
            status = CASE WHEN status = {Of(StepStatus.Succeeded)} THEN status ELSE {Of(StepStatus.Running)} END,
            completed_at = CASE WHEN status = {Of(StepStatus.Succeeded)} THEN completed_at ELSE NULL END
        """;

    private static readonly string AttemptStartedSql = $"""
        INSERT INTO step_attempts (run_id, step_key, attempt, started_at, outcome)
        VALUES ($run, $key, $attempt, $started, {Of(AttemptOutcome.Running)})
        ON CONFLICT (run_id, step_key, attempt) DO NOTHING
        """;

    private const string AttemptEndedSql = """
        INSERT INTO step_attempts (run_id, step_key, attempt, started_at, ended_at, outcome, error_type, error_message, retry_at)
        VALUES ($run, $key, $attempt, $started, $ended, $outcome, $error_type, $error, $retry_at)
        ON CONFLICT (run_id, step_key, attempt) DO UPDATE SET
            ended_at = excluded.ended_at, outcome = excluded.outcome,
            error_type = excluded.error_type, error_message = excluded.error_message, retry_at = excluded.retry_at
        """;

    private const string StepFinishedSql = """
        INSERT INTO steps (run_id, key, kind, status, result, error, error_type, attempts, started_at, completed_at)
        VALUES ($run, $key, $kind, $status, $result, $error, $error_type, $attempt, $started, $ended)
        ON CONFLICT (run_id, key) DO UPDATE SET
            status = excluded.status, result = excluded.result, error = excluded.error,
            error_type = excluded.error_type, completed_at = excluded.completed_at,
            attempts = max(attempts, excluded.attempts)
        """;

    // The attempt failed and will be retried: the step keeps running and shows the last error.
    private static readonly string StepRetryingSql = $"""
        INSERT INTO steps (run_id, key, kind, status, error, error_type, attempts, started_at)
        VALUES ($run, $key, $kind, {Of(StepStatus.Running)}, $error, $error_type, $attempt, $started)
        ON CONFLICT (run_id, key) DO UPDATE SET
            error = excluded.error, error_type = excluded.error_type,
            attempts = max(attempts, excluded.attempts)
        """;

    public Task<IReadOnlyList<StepRecord>> GetStepsAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return store.ReadAsync<IReadOnlyList<StepRecord>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {StepColumns} FROM steps WHERE run_id = $run ORDER BY started_at, key";
            return ReadAll(command.With("$run", runId), Step);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<StepAttemptRecord>> GetAttemptsAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return store.ReadAsync<IReadOnlyList<StepAttemptRecord>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {AttemptColumns} FROM step_attempts WHERE run_id = $run ORDER BY step_key, attempt";
            return ReadAll(command.With("$run", runId), Attempt);
        }, cancellationToken);
    }

    public Task<bool> RecordAttemptStartedAsync(AttemptStartedRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.StepKey, "request.StepKey");
        return store.WriteAsync(ctx =>
        {
            if (!LeaseHeld(ctx, request.RunId, request.Owner))
            {
                return false;
            }

            ctx.Statement(StepStartedSql)
                .With("$run", request.RunId)
                .With("$key", request.StepKey)
                .With("$kind", (int)request.Kind)
                .With("$attempt", request.Attempt)
                .With("$started", request.StartedAt)
                .ExecuteNonQuery();
            ctx.Statement(AttemptStartedSql)
                .With("$run", request.RunId)
                .With("$key", request.StepKey)
                .With("$attempt", request.Attempt)
                .With("$started", request.StartedAt)
                .ExecuteNonQuery();
            return true;
        }, cancellationToken);
    }

    public Task<bool> RecordAttemptEndedAsync(AttemptEndedRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.StepKey, "request.StepKey");
        return store.WriteAsync(ctx =>
        {
            if (!LeaseHeld(ctx, request.RunId, request.Owner))
            {
                return false;
            }

            WriteEnded(ctx, request);
            return true;
        }, cancellationToken);
    }

    /// <summary>Upserts the attempt row and the step row of an attempt's end; the caller has checked the lease in the same transaction.</summary>
    internal static void WriteEnded(WriteContext ctx, AttemptEndedRequest request)
    {
        ctx.Statement(AttemptEndedSql)
            .With("$run", request.RunId)
            .With("$key", request.StepKey)
            .With("$attempt", request.Attempt)
            .With("$started", request.StartedAt)
            .With("$ended", request.EndedAt)
            .With("$outcome", (int)request.Outcome)
            .With("$error_type", request.ErrorType)
            .With("$error", request.ErrorMessage)
            .With("$retry_at", request.RetryAt)
            .ExecuteNonQuery();

        var step = request.StepStatus is { } status
            ? ctx.Statement(StepFinishedSql)
                .With("$status", (int)status)
                .With("$result", request.Result)
                .With("$ended", request.EndedAt)
            : ctx.Statement(StepRetryingSql);
        step.With("$run", request.RunId)
            .With("$key", request.StepKey)
            .With("$kind", (int)request.Kind)
            .With("$error", request.ErrorMessage)
            .With("$error_type", request.ErrorType)
            .With("$attempt", request.Attempt)
            .With("$started", request.StartedAt)
            .ExecuteNonQuery();
    }

    private static bool LeaseHeld(WriteContext ctx, string runId, string owner) =>
        ctx.Statement(LeaseHeldSql).With("$run", runId).With("$owner", owner).ExecuteScalarInt64() is not null;
}
