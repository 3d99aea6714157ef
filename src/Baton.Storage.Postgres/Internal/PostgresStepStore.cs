using Baton.Runs;
using Npgsql;
using static Baton.Storage.Postgres.Internal.PostgresRows;
using static Baton.Storage.StoredValues;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// Steps and attempts. Each write is one statement that first locks the run row <c>FOR SHARE</c> while
/// checking the lease, so a takeover on another node either commits before it (and the write is refused)
/// or waits until it has committed; a worker that lost its lease never writes.
/// </summary>
internal sealed class PostgresStepStore : IStepStore
{
    private readonly PostgresBatonStore _store;
    private readonly string _stepsSql;
    private readonly string _attemptsSql;
    private readonly string _startedSql;
    private readonly string _finishedSql;
    private readonly string _retryingSql;

    public PostgresStepStore(PostgresBatonStore store, string s)
    {
        _store = store;
        _stepsSql = $"SELECT {StepColumns} FROM {s}.steps WHERE run_id = @run ORDER BY started_at, key";
        _attemptsSql = $"SELECT {AttemptColumns} FROM {s}.step_attempts WHERE run_id = @run ORDER BY step_key, attempt";
        var lease = $"""
            lease AS (
                SELECT id FROM {s}.runs WHERE id = @run AND lease_owner = @owner FOR SHARE
            )
            """;

        // A new attempt puts a failed step back to running (after a retry of the run); a succeeded step stays succeeded.
        _startedSql = $"""
            WITH {lease}, step AS (
                INSERT INTO {s}.steps AS st (run_id, key, kind, status, attempts, started_at)
                SELECT @run, @key, @kind, {Of(StepStatus.Running)}, @attempt, @started FROM lease
                ON CONFLICT (run_id, key) DO UPDATE SET
                    attempts = GREATEST(st.attempts, excluded.attempts),
                    status = CASE WHEN st.status = {Of(StepStatus.Succeeded)} THEN st.status ELSE {Of(StepStatus.Running)} END,
                    completed_at = CASE WHEN st.status = {Of(StepStatus.Succeeded)} THEN st.completed_at ELSE NULL END
            ), attempt AS (
                INSERT INTO {s}.step_attempts (run_id, step_key, attempt, started_at, outcome)
                SELECT @run, @key, @attempt, @started, {Of(AttemptOutcome.Running)} FROM lease
                ON CONFLICT (run_id, step_key, attempt) DO NOTHING
            )
            SELECT count(*) FROM lease
            """;

        var attemptEnded = AttemptEndedCte(s, "lease");
        _finishedSql = $"""
            WITH {lease}, {FinishedCtes(s, "lease")}
            SELECT count(*) FROM lease
            """;

        // The attempt failed and will be retried: the step keeps running and shows the last error.
        _retryingSql = $"""
            WITH {lease}, {attemptEnded}, step AS (
                INSERT INTO {s}.steps AS st (run_id, key, kind, status, error, error_type, attempts, started_at)
                SELECT @run, @key, @kind, {Of(StepStatus.Running)}, @error, @error_type, @attempt, @started FROM lease
                ON CONFLICT (run_id, key) DO UPDATE SET
                    error = excluded.error, error_type = excluded.error_type,
                    attempts = GREATEST(st.attempts, excluded.attempts)
            )
            SELECT count(*) FROM lease
            """;
    }

    /// <summary>
    /// The attempt's end and the step's final outcome as two CTEs named <c>attempt</c> and <c>step</c>, each writing only
    /// if <paramref name="from"/> (the CTE that checked the lease) has a row. Parameters: those of <see cref="BindEnded"/>.
    /// </summary>
    internal static string FinishedCtes(string s, string from) => $"""
        {AttemptEndedCte(s, from)}, step AS (
            INSERT INTO {s}.steps AS st (run_id, key, kind, status, result, error, error_type, attempts, started_at, completed_at)
            SELECT @run, @key, @kind, @step_status, @result, @error, @error_type, @attempt, @started, @ended FROM {from}
            ON CONFLICT (run_id, key) DO UPDATE SET
                status = excluded.status, result = excluded.result, error = excluded.error,
                error_type = excluded.error_type, completed_at = excluded.completed_at,
                attempts = GREATEST(st.attempts, excluded.attempts)
        )
        """;

    private static string AttemptEndedCte(string s, string from) => $"""
        attempt AS (
            INSERT INTO {s}.step_attempts (run_id, step_key, attempt, started_at, ended_at, outcome, error_type, error_message, retry_at)
            SELECT @run, @key, @attempt, @started, @ended, @outcome, @error_type, @error, @retry_at FROM {from}
            ON CONFLICT (run_id, step_key, attempt) DO UPDATE SET
                ended_at = excluded.ended_at, outcome = excluded.outcome,
                error_type = excluded.error_type, error_message = excluded.error_message, retry_at = excluded.retry_at
        )
        """;

    /// <summary>Binds the parameters of an attempt's end (all but the owner): <c>@run</c>, <c>@key</c>, ..., and with a step status <c>@step_status</c> and <c>@result</c>.</summary>
    internal static NpgsqlParameterCollection BindEnded(NpgsqlParameterCollection parameters, AttemptEndedRequest request)
    {
        parameters
            .Text("run", request.RunId)
            .Text("key", request.StepKey)
            .Int("kind", (int)request.Kind)
            .Int("attempt", request.Attempt)
            .Time("started", request.StartedAt)
            .Time("ended", request.EndedAt)
            .Int("outcome", (int)request.Outcome)
            .Text("error_type", request.ErrorType)
            .Text("error", request.ErrorMessage)
            .Time("retry_at", request.RetryAt);
        return request.StepStatus is { } status ? parameters.Int("step_status", (int)status).Text("result", request.Result) : parameters;
    }

    public async Task<IReadOnlyList<StepRecord>> GetStepsAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_stepsSql, connection);
        command.Parameters.Text("run", runId);
        return await ReadAllAsync(command, Step, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StepAttemptRecord>> GetAttemptsAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_attemptsSql, connection);
        command.Parameters.Text("run", runId);
        return await ReadAllAsync(command, Attempt, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> RecordAttemptStartedAsync(AttemptStartedRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.StepKey, "request.StepKey");
        return await _store.Writer.WriteAsync(request.RunId, StartedCommand(request), LeaseHeldAsync, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The statement of <see cref="RecordAttemptStartedAsync"/>, named parameters (tests alter a value past the checks).</summary>
    internal NpgsqlBatchCommand StartedCommand(AttemptStartedRequest request)
    {
        var command = new NpgsqlBatchCommand(_startedSql);
        command.Parameters
            .Text("run", request.RunId)
            .Text("owner", request.Owner)
            .Text("key", request.StepKey)
            .Int("kind", (int)request.Kind)
            .Int("attempt", request.Attempt)
            .Time("started", request.StartedAt);
        return command;
    }

    public async Task<bool> RecordAttemptEndedAsync(AttemptEndedRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.StepKey, "request.StepKey");
        var command = new NpgsqlBatchCommand(request.StepStatus is null ? _retryingSql : _finishedSql);
        BindEnded(command.Parameters, request).Text("owner", request.Owner);
        return await _store.Writer.WriteAsync(request.RunId, command, LeaseHeldAsync, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the statement's <c>count(*) FROM lease</c>: 1 if the owner held the lease and the write applied.</summary>
    private static async Task<bool> LeaseHeldAsync(NpgsqlDataReader reader) =>
        await reader.ReadAsync().ConfigureAwait(false) && reader.GetInt64(0) > 0;
}
