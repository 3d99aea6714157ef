using System.Diagnostics.Metrics;
using Baton.Hosting;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// The PostgreSQL store's instruments, on the engine's meter <see cref="BatonMetrics.MeterName"/>, the same as the
/// SQLite store's writer: how busy the group-commit writer is (the rate of <c>baton.postgres.writer.busy</c>, summed over
/// its lanes; near <c>WriterConnections</c> it is the limit) and how large its batches are (operations per commit). Connection pool and command metrics come from
/// Npgsql's own meter "Npgsql".
/// </summary>
internal sealed class PostgresMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public PostgresMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(BatonMetrics.MeterName) ?? new Meter(BatonMetrics.MeterName);
        WriterBusy = _meter.CreateCounter<double>("baton.postgres.writer.busy", unit: "s",
            description: "Wall time the PostgreSQL group-commit writer spent sending batches and committing them.");
        Commits = _meter.CreateCounter<long>("baton.postgres.writer.commits",
            description: "Batches the PostgreSQL writer committed (one per group of queued writes).");
        Operations = _meter.CreateCounter<long>("baton.postgres.writer.operations",
            description: "Write operations the PostgreSQL writer ran; divided by commits, the group size.");
    }

    internal Meter Meter => _meter;

    public Counter<double> WriterBusy { get; }

    public Counter<long> Commits { get; }

    public Counter<long> Operations { get; }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
