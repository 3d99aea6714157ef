using Baton.Runs;
using Microsoft.Data.Sqlite;
using static Baton.Storage.StoredValues;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>External events. Every write runs on the one writer, so a send and a consume never interleave.</summary>
internal sealed class SqliteEventStore(SqliteBatonStore store) : IEventStore
{
    private const string EventColumns = "run_id, id, name, payload, idempotency_key, stored_at, consumed_at, consumed_by";

    // Only a run that waits for the event's name (or was suspended before names were kept: wakes_on NULL).
    private static readonly string WakeSql = $"""
        UPDATE runs SET run_after = $now, updated_at = $now
        WHERE id = $run AND status = {Of(RunStatus.Suspended)} AND lease_owner IS NULL AND run_after > $now
            AND (wakes_on IS NULL OR instr(wakes_on, ' ' || $name || ' ') > 0)
        """;

    public Task<SendEventResult> SendEventAsync(SendEventRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Name, "request.Name");
        return store.WriteAsync(ctx =>
        {
            var status = ctx.Command("SELECT status FROM runs WHERE id = $run").With("$run", request.RunId).ExecuteScalar();
            if (status is null)
            {
                return new SendEventResult(SendEventOutcome.RunNotFound, null);
            }

            if (request.IdempotencyKey is not null
                && ReadOne(ctx.Command($"SELECT {EventColumns} FROM run_events WHERE run_id = $run AND idempotency_key = $key")
                    .With("$run", request.RunId).With("$key", request.IdempotencyKey)) is { } existing)
            {
                return new SendEventResult(SendEventOutcome.Existing, existing);
            }

            if (((RunStatus)Convert.ToInt32(status, System.Globalization.CultureInfo.InvariantCulture)).IsTerminal())
            {
                return new SendEventResult(SendEventOutcome.RunFinished, null);
            }

            var stored = ReadOne(ctx.Command($"""
                    INSERT INTO run_events (run_id, name, payload, idempotency_key, stored_at)
                    VALUES ($run, $name, $payload, $key, $now)
                    RETURNING {EventColumns}
                    """)
                .With("$run", request.RunId).With("$name", request.Name).With("$payload", request.Payload)
                .With("$key", request.IdempotencyKey).With("$now", request.Now))!;
            ctx.Command(WakeSql).With("$run", request.RunId).With("$name", request.Name).With("$now", request.Now).ExecuteNonQuery();
            return new SendEventResult(SendEventOutcome.Stored, stored);
        }, cancellationToken);
    }

    public Task<ConsumeEventResult> ConsumeEventAsync(ConsumeEventRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.StepKey, "request.StepKey");
        return store.WriteAsync(ctx =>
        {
            if (ctx.Command("SELECT 1 FROM runs WHERE id = $run AND lease_owner = $owner")
                    .With("$run", request.RunId).With("$owner", request.Owner).ExecuteScalar() is null)
            {
                return new ConsumeEventResult(false, null);
            }

            var taken = ReadOne(ctx.Command($"SELECT {EventColumns} FROM run_events WHERE run_id = $run AND consumed_by = $step")
                .With("$run", request.RunId).With("$step", request.StepKey));
            if (taken is not null)
            {
                return new ConsumeEventResult(true, taken);
            }

            var next = ReadOne(ctx.Command($"""
                    UPDATE run_events SET consumed_at = $now, consumed_by = $step
                    WHERE id = (SELECT id FROM run_events WHERE run_id = $run AND name = $name AND consumed_at IS NULL
                        AND ($stored_by IS NULL OR stored_at <= $stored_by) ORDER BY id LIMIT 1)
                    RETURNING {EventColumns}
                    """)
                .With("$run", request.RunId).With("$name", request.Name).With("$step", request.StepKey).With("$now", request.Now)
                .With("$stored_by", request.StoredBy));
            return new ConsumeEventResult(true, next);
        }, cancellationToken);
    }

    public Task<bool> WakeIfEventStoredAsync(WakeIfEventStoredRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return store.WriteAsync(
            ctx => ctx.Command($"{WakeSql} AND EXISTS (SELECT 1 FROM run_events WHERE run_id = $run AND name = $name AND consumed_at IS NULL)")
                .With("$run", request.RunId).With("$name", request.Name).With("$now", request.Now)
                .ExecuteNonQuery() > 0,
            cancellationToken);
    }

    public Task<IReadOnlyList<EventRecord>> GetEventsAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return store.ReadAsync<IReadOnlyList<EventRecord>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {EventColumns} FROM run_events WHERE run_id = $run ORDER BY id";
            return SqliteRows.ReadAll(command.With("$run", runId), Event);
        }, cancellationToken);
    }

    private static EventRecord? ReadOne(SqliteCommand command) => SqliteRows.ReadOne(command, Event);

    private static EventRecord Event(SqliteDataReader r) => new()
    {
        RunId = r.GetString(0),
        Sequence = r.GetInt64(1),
        Name = r.GetString(2),
        Payload = r.IsDBNull(3) ? null : r.GetString(3),
        IdempotencyKey = r.IsDBNull(4) ? null : r.GetString(4),
        StoredAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
        ConsumedAt = r.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)),
        ConsumedBy = r.IsDBNull(7) ? null : r.GetString(7),
    };
}
