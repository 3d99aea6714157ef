using System.Collections.Concurrent;

namespace Baton.Simulators.WorkerNode;

/// <summary>How the stand-in answers <c>POST /enqueue</c>.</summary>
public enum WorkerNodeMode
{
    /// <summary>Accepts jobs (202, or 200 for a duplicate).</summary>
    Up,
    /// <summary>Answers <see cref="WorkerNodeState.FailStatus"/> (503 by default) without recording the job.</summary>
    Failing,
    /// <summary>Resets the connection without an answer (a crashed worker; for "connection refused", stop the listener).</summary>
    Reset,
}

/// <summary>What the worker node stand-in received, and how it behaves. Thread-safe; survives a stop and start of the listener.</summary>
public sealed class WorkerNodeState
{
    // One entry per job id (its deliveries, place id and first correlation id): the benchmark's live phase records a few
    // hundred thousand jobs, and three dictionaries of strings kept three nodes per job alive (the stand-in's gen2 pauses).
    private readonly ConcurrentDictionary<string, Delivery> _byJobId = new(StringComparer.Ordinal);
    private long _received;
    private long _withoutKey;
    private long _refused;
    private int _failNext;

    public WorkerNodeMode Mode { get; set; } = WorkerNodeMode.Up;

    /// <summary>Status answered while failing. The default is 503.</summary>
    public int FailStatus { get; set; } = 503;

    /// <summary>Delay before every answer (a slow worker). The default is none.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.Zero;

    /// <summary>Enqueue requests received, duplicates and refusals included.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Requests answered with a failure (failing mode or <see cref="FailNext"/>).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Requests without an <c>Idempotency-Key</c> (recorded under <c>placeId</c>).</summary>
    public long WithoutKey => Interlocked.Read(ref _withoutKey);

    /// <summary>Distinct job ids accepted.</summary>
    public int Unique => _byJobId.Count;

    /// <summary>Accepted deliveries dropped as duplicates of a job id already accepted.</summary>
    public long Duplicates => _byJobId.Values.Sum(d => (long)d.Count - 1);

    /// <summary>Every accepted job id with the number of times it arrived (a snapshot).</summary>
    public IReadOnlyDictionary<string, int> Jobs => _byJobId.ToDictionary(e => e.Key, e => e.Value.Count, StringComparer.Ordinal);

    public string? PlaceIdOf(string jobId) => _byJobId.TryGetValue(jobId, out var delivery) ? delivery.PlaceId : null;

    /// <summary>The <c>X-Correlation-ID</c> the job's first accepted delivery carried, or null.</summary>
    public string? CorrelationIdOf(string jobId) => _byJobId.TryGetValue(jobId, out var delivery) ? delivery.CorrelationId : null;

    /// <summary>Every accepted job id with the number of times it arrived, as it is read (no copy).</summary>
    internal IEnumerable<(string JobId, int Count)> Counts => _byJobId.Select(e => (e.Key, e.Value.Count));

    /// <summary>Fails the next <paramref name="count"/> requests with <see cref="FailStatus"/>, then answers normally.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failNext, count);

    public void Reset()
    {
        _byJobId.Clear();
        Interlocked.Exchange(ref _received, 0);
        Interlocked.Exchange(ref _withoutKey, 0);
        Interlocked.Exchange(ref _refused, 0);
        Interlocked.Exchange(ref _failNext, 0);
        Mode = WorkerNodeMode.Up;
        FailStatus = 503;
        Delay = TimeSpan.Zero;
    }

    internal void CountReceived() => Interlocked.Increment(ref _received);

    /// <summary>True when this request must fail (failing mode, or one of the <see cref="FailNext"/> ones).</summary>
    internal bool ShouldFail()
    {
        var fail = Mode == WorkerNodeMode.Failing;
        while (!fail)
        {
            var left = Volatile.Read(ref _failNext);
            if (left <= 0)
            {
                break;
            }

            if (Interlocked.CompareExchange(ref _failNext, left - 1, left) == left)
            {
                fail = true;
            }
        }

        if (fail)
        {
            Interlocked.Increment(ref _refused);
        }

        return fail;
    }

    /// <summary>Records a delivery; returns false when the job id was already accepted (a duplicate, dropped).</summary>
    internal bool Record(string? jobId, string placeId, string? correlationId)
    {
        if (jobId is null)
        {
            Interlocked.Increment(ref _withoutKey);
            jobId = "placeId:" + placeId;
        }

        var fresh = new Delivery(placeId, correlationId);
        var entry = _byJobId.GetOrAdd(jobId, fresh);
        if (ReferenceEquals(entry, fresh))
        {
            return true;
        }

        Interlocked.Increment(ref entry.Count);
        return false;
    }

    /// <summary>One accepted job id: how often it arrived, with the place id and correlation id of its first delivery.</summary>
    private sealed class Delivery(string placeId, string? correlationId)
    {
        public int Count = 1;

        public string PlaceId { get; } = placeId;

        public string? CorrelationId { get; } = correlationId;
    }
}
