using System.Diagnostics.Metrics;

namespace Baton.Redis;

/// <summary>The list triggers' instruments, on the meter <see cref="MeterName"/>; every measurement is tagged <c>trigger</c>.</summary>
internal sealed class RedisListMetrics : IDisposable
{
    public const string MeterName = "Baton.Redis";

    private readonly Meter _meter;

    public RedisListMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        ItemsMoved = _meter.CreateCounter<long>("baton.redis.items.moved", description: "Items moved from a source list to a processing list.");
        BatchesAccepted = _meter.CreateCounter<long>("baton.redis.batches.accepted", description: "Batches stored by the inbox and removed from their processing list.");
        BatchesConflicted = _meter.CreateCounter<long>("baton.redis.batches.conflicted", description: "Batches offered again because a message was in conflict.");
        ItemsDeadLettered = _meter.CreateCounter<long>("baton.redis.items.dead_lettered", description: "Items pushed raw onto a dead-letter list.");
        Errors = _meter.CreateCounter<long>("baton.redis.errors", description: "Failed Redis or inbox calls (retried with backoff).");
    }

    public Counter<long> ItemsMoved { get; }
    public Counter<long> BatchesAccepted { get; }
    public Counter<long> BatchesConflicted { get; }
    public Counter<long> ItemsDeadLettered { get; }
    public Counter<long> Errors { get; }

    public void Dispose() => _meter.Dispose();
}
