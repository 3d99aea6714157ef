using Baton.Runs;
using Npgsql;
using static Baton.Storage.Postgres.Internal.PostgresRows;
using static Baton.Storage.StoredValues;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// External events. A send locks the run's row for its transaction, so it is ordered against the run suspending
/// (the executor's release of the lease), against a takeover, and against other sends to the run; a run woken by
/// an event is announced on the runs channel, so a waiting node on another machine claims it at once.
/// </summary>
internal sealed class PostgresEventStore : IEventStore
{
    private const string EventColumns = "run_id, id, name, payload, idempotency_key, stored_at, consumed_at, consumed_by";

    private readonly PostgresBatonStore _store;
    private readonly string _lockRunSql;
    private readonly string _byKeySql;
    private readonly string _insertSql;
    private readonly string _wakeSql;
    private readonly string _wakeIfStoredSql;
    private readonly string _leaseSql;
    private readonly string _takenSql;
    private readonly string _consumeSql;
    private readonly string _listSql;

    public PostgresEventStore(PostgresBatonStore store, string s)
    {
        _store = store;
        _lockRunSql = $"SELECT status FROM {s}.runs WHERE id = @run FOR UPDATE";
        _byKeySql = $"SELECT {EventColumns} FROM {s}.run_events WHERE run_id = @run AND idempotency_key = @key";
        _insertSql = $"""
            INSERT INTO {s}.run_events (run_id, name, payload, idempotency_key, stored_at)
            VALUES (@run, @name, @payload, @key, @now)
            RETURNING {EventColumns}
            """;
        var wake = $"""
            UPDATE {s}.runs SET run_after = @now, updated_at = @now
            WHERE id = @run AND status = {Of(RunStatus.Suspended)} AND lease_owner IS NULL AND run_after > @now
                AND (wakes_on IS NULL OR @name = ANY(wakes_on))
            """;
        _wakeSql = $"{wake} RETURNING EXISTS (SELECT FROM pg_notify(@channel, ''))";
        _wakeIfStoredSql = $"""
            {wake} AND EXISTS (SELECT 1 FROM {s}.run_events WHERE run_id = @run AND name = @name AND consumed_at IS NULL)
            RETURNING EXISTS (SELECT FROM pg_notify(@channel, ''))
            """;
        _leaseSql = $"SELECT id FROM {s}.runs WHERE id = @run AND lease_owner = @owner FOR SHARE";
        _takenSql = $"SELECT {EventColumns} FROM {s}.run_events WHERE run_id = @run AND consumed_by = @step";
        _consumeSql = $"""
            UPDATE {s}.run_events SET consumed_at = @now, consumed_by = @step
            WHERE id = (SELECT id FROM {s}.run_events WHERE run_id = @run AND name = @name AND consumed_at IS NULL
                AND (@stored_by IS NULL OR stored_at <= @stored_by) ORDER BY id LIMIT 1)
            RETURNING {EventColumns}
            """;
        _listSql = $"SELECT {EventColumns} FROM {s}.run_events WHERE run_id = @run ORDER BY id";
    }

    public async Task<SendEventResult> SendEventAsync(SendEventRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Name, "request.Name");
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        int? status;
        await using (var lockRun = new NpgsqlCommand(_lockRunSql, connection, transaction))
        {
            lockRun.Parameters.Text("run", request.RunId);
            status = (int?)await lockRun.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        if (status is null)
        {
            return new SendEventResult(SendEventOutcome.RunNotFound, null);
        }

        if (request.IdempotencyKey is not null)
        {
            await using var byKey = new NpgsqlCommand(_byKeySql, connection, transaction);
            byKey.Parameters.Text("run", request.RunId).Text("key", request.IdempotencyKey);
            if (await ReadOneAsync(byKey, Event, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return new SendEventResult(SendEventOutcome.Existing, existing);
            }
        }

        if (((RunStatus)status.Value).IsTerminal())
        {
            return new SendEventResult(SendEventOutcome.RunFinished, null);
        }

        EventRecord stored;
        await using (var insert = new NpgsqlCommand(_insertSql, connection, transaction))
        {
            insert.Parameters
                .Text("run", request.RunId).Text("name", request.Name).Text("payload", request.Payload)
                .Text("key", request.IdempotencyKey).Time("now", request.Now);
            stored = (await ReadOneAsync(insert, Event, cancellationToken).ConfigureAwait(false))!;
        }

        await using (var wake = new NpgsqlCommand(_wakeSql, connection, transaction))
        {
            wake.Parameters.Text("run", request.RunId).Text("name", request.Name).Time("now", request.Now).Text("channel", _store.Channel);
            await wake.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new SendEventResult(SendEventOutcome.Stored, stored);
    }

    public async Task<ConsumeEventResult> ConsumeEventAsync(ConsumeEventRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.StepKey, "request.StepKey");
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lease = new NpgsqlCommand(_leaseSql, connection, transaction))
        {
            lease.Parameters.Text("run", request.RunId).Text("owner", request.Owner);
            if (await lease.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                return new ConsumeEventResult(false, null);
            }
        }

        EventRecord? taken;
        await using (var previous = new NpgsqlCommand(_takenSql, connection, transaction))
        {
            previous.Parameters.Text("run", request.RunId).Text("step", request.StepKey);
            taken = await ReadOneAsync(previous, Event, cancellationToken).ConfigureAwait(false);
        }

        if (taken is null)
        {
            await using var consume = new NpgsqlCommand(_consumeSql, connection, transaction);
            consume.Parameters
                .Text("run", request.RunId).Text("name", request.Name).Text("step", request.StepKey).Time("now", request.Now)
                .Time("stored_by", request.StoredBy);
            taken = await ReadOneAsync(consume, Event, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new ConsumeEventResult(true, taken);
    }

    public async Task<bool> WakeIfEventStoredAsync(WakeIfEventStoredRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_wakeIfStoredSql, connection);
        command.Parameters.Text("run", request.RunId).Text("name", request.Name).Time("now", request.Now).Text("channel", _store.Channel);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<IReadOnlyList<EventRecord>> GetEventsAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_listSql, connection);
        command.Parameters.Text("run", runId);
        return await ReadAllAsync(command, Event, cancellationToken).ConfigureAwait(false);
    }

    private static EventRecord Event(NpgsqlDataReader r) => new()
    {
        RunId = r.GetString(0),
        Sequence = r.GetInt64(1),
        Name = r.GetString(2),
        Payload = Text(r, 3),
        IdempotencyKey = Text(r, 4),
        StoredAt = Time(r, 5)!.Value,
        ConsumedAt = Time(r, 6),
        ConsumedBy = Text(r, 7),
    };
}
