using System.Diagnostics.Metrics;
using Baton.Hosting;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>
/// The SQLite store's instruments, on the engine's meter <see cref="BatonMetrics.MeterName"/>:
/// how busy the one writer is (its utilisation is the rate of <c>baton.sqlite.writer.busy</c>; near 1
/// it is the limit), how large its group commits are (operations per commit), and how far the WAL
/// is from being checkpointed.
/// </summary>
internal sealed class SqliteMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private long _walFrames = -1;

    public SqliteMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(BatonMetrics.MeterName) ?? new Meter(BatonMetrics.MeterName);
        WriterBusy = _meter.CreateCounter<double>("baton.sqlite.writer.busy", unit: "s",
            description: "Wall time the SQLite writer spent running and committing transactions.");
        Commits = _meter.CreateCounter<long>("baton.sqlite.writer.commits",
            description: "Transactions the SQLite writer committed (one per group of queued writes).");
        Operations = _meter.CreateCounter<long>("baton.sqlite.writer.operations",
            description: "Write operations the SQLite writer ran; divided by commits, the group size.");
        _meter.CreateObservableGauge("baton.sqlite.wal.frames", ObserveWalFrames,
            description: "Frames in the WAL at the last background checkpoint pass.");
    }

    internal Meter Meter => _meter;

    public Counter<double> WriterBusy { get; }

    public Counter<long> Commits { get; }

    public Counter<long> Operations { get; }

    /// <summary>Records what a checkpoint pass found (negative: the pass failed, nothing is reported).</summary>
    public void CheckpointPassed(CheckpointResult result) => Volatile.Write(ref _walFrames, result.WalFrames);

    private IEnumerable<Measurement<long>> ObserveWalFrames()
    {
        var frames = Volatile.Read(ref _walFrames);
        return frames < 0 ? [] : [new Measurement<long>(frames)];
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
