using System.Diagnostics.Metrics;
using Npgsql;

namespace Baton.Bench;

/// <summary>What a measured phase cost the PostgreSQL store, per run.</summary>
internal sealed record StoreTrafficResult(long RoundTrips, long WriterCommits, long WriterOperations, long Commits, long RowsWritten)
{
    public string PerRun(int runs) =>
        $"{(double)RoundTrips / runs:N2} round trips, {(double)Commits / runs:N2} commits (PostgreSQL's count; " +
        $"the group-commit writer {(double)WriterCommits / runs:N3} commits for {(double)WriterOperations / runs:N2} statements), " +
        $"{(double)RowsWritten / runs:N2} rows written";
}

/// <summary>
/// Counts the store's traffic during a phase, both sides: round trips (Npgsql's <c>db.client.operation.duration</c>,
/// one per command or batch sent), the group-commit writer's commits and statements (Baton's meter), and PostgreSQL's
/// own counts of commits and rows written in the database (<c>pg_stat_database</c>; it sees every transaction,
/// claims, the listener's and Npgsql's connection resets included). Use a database of its own: the counts are the
/// whole database's.
/// </summary>
internal sealed class StoreTraffic : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly System.Diagnostics.ActivityListener? _statements;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _byStatement = new(StringComparer.Ordinal);
    private readonly string _connectionString;
    private long _roundTrips;
    private long _writerCommits;
    private long _writerOperations;
    private (long Commits, long Rows) _start;

    private StoreTraffic(string connectionString)
    {
        _connectionString = connectionString;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Npgsql" && instrument.Name == "db.client.operation.duration"
                || instrument.Meter.Name == "Baton" && instrument.Name is "baton.postgres.writer.commits" or "baton.postgres.writer.operations")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, _, _, _) =>
        {
            if (instrument.Name == "db.client.operation.duration")
            {
                Interlocked.Increment(ref _roundTrips);
            }
        });
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            Interlocked.Add(ref instrument.Name == "baton.postgres.writer.commits" ? ref _writerCommits : ref _writerOperations, value));
        _listener.Start();
        if (Environment.GetEnvironmentVariable("BENCH_TRAFFIC_DETAIL") == "1")
        {
            // Diagnostics only (it costs CPU): round trips by the start of their statement text.
            _statements = new System.Diagnostics.ActivityListener
            {
                ShouldListenTo = source => source.Name == "Npgsql",
                Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
                ActivityStopped = activity =>
                {
                    var text = (activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement") ?? activity.DisplayName)?.ToString() ?? "";
                    text = string.Join(' ', text.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
                    _byStatement.AddOrUpdate(text[..Math.Min(70, text.Length)], 1, (_, n) => n + 1);
                },
            };
            System.Diagnostics.ActivitySource.AddActivityListener(_statements);
        }
    }

    /// <summary>With BENCH_TRAFFIC_DETAIL=1: round trips by statement, most first.</summary>
    public IEnumerable<(string Statement, int Count)> Detail() =>
        _byStatement.OrderByDescending(p => p.Value).Select(p => (p.Key, p.Value));

    public static async Task<StoreTraffic?> StartAsync(string? connectionString)
    {
        if (connectionString is null)
        {
            return null;
        }

        var traffic = new StoreTraffic(connectionString);
        traffic._start = await traffic.DatabaseCountsAsync();
        Interlocked.Exchange(ref traffic._roundTrips, 0);
        return traffic;
    }

    public async Task<StoreTrafficResult> StopAsync()
    {
        var (roundTrips, commits, operations) = (Volatile.Read(ref _roundTrips), Volatile.Read(ref _writerCommits), Volatile.Read(ref _writerOperations));
        _listener.Dispose();
        _statements?.Dispose();
        foreach (var (statement, count) in Detail())
        {
            Console.WriteLine($"  {count,8} {statement}");
        }

        // A busy backend reports its counts at most once a second, an idle one within 10 s (PostgreSQL 15): the default
        // wait of 1.5 s may miss the last second's; BENCH_PG_STATS_WAIT_S=11 gives exact counts.
        var wait = double.TryParse(Environment.GetEnvironmentVariable("BENCH_PG_STATS_WAIT_S"), System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? seconds : 1.5;
        await Task.Delay(TimeSpan.FromSeconds(wait));
        var end = await DatabaseCountsAsync();
        // The two reads of pg_stat_database are one commit each, not the phase's.
        return new StoreTrafficResult(roundTrips, commits, operations, end.Commits - _start.Commits - 1, end.Rows - _start.Rows);
    }

    private async Task<(long Commits, long Rows)> DatabaseCountsAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = current_database()",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    public void Dispose()
    {
        _listener.Dispose();
        _statements?.Dispose();
    }
}
