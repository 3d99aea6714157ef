using Baton.Hosting;
using Baton.Runs;

namespace Baton.Server.Metrics;

/// <summary>
/// Feeds the engine's <c>baton.runs.queued</c> gauge: pending runs, counted with one query. A scrape of <c>/metrics</c>
/// counts them just before it is answered; any other collection (OTLP's periodic export) counts them as the gauge is read,
/// unless they were counted within the last second. Before, only a scrape counted them, and an OTLP-only deployment
/// exported 0, or whatever the last scrape had seen, for ever.
/// </summary>
internal sealed class QueuedRunsGauge
{
    private static readonly CountRunsRequest Pending = new() { Statuses = [RunStatus.Pending] };

    /// <summary>A count this recent is exported as it is.</summary>
    internal static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    /// <summary>How long a collection waits for the store; past it, the last known count is exported.</summary>
    internal static readonly TimeSpan CollectTimeout = TimeSpan.FromSeconds(2);

    private readonly IBatonClient _client;
    private readonly TimeProvider _time;
    private readonly ILogger<QueuedRunsGauge> _logger;
    private long _queued;

    // TimeProvider timestamp of the last count attempted; 0 with _counted false before the first.
    private long _countedAt;
    private bool _counted;

    public QueuedRunsGauge(IBatonClient client, BatonMetrics metrics, TimeProvider time, ILogger<QueuedRunsGauge> logger)
    {
        _client = client;
        _time = time;
        _logger = logger;
        metrics.ObserveQueuedRuns(Observe);
    }

    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var counts = await _client.CountRunsAsync(Pending, cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _queued, counts[RunStatus.Pending]);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The scrape still answers with the other metrics and the last known queue length.
            Log.QueuedRunsUnavailable(_logger, ex);
        }
        finally
        {
            // When the count ended (counted or failed): a slow count is not counted again by the same scrape's collection.
            Volatile.Write(ref _countedAt, _time.GetTimestamp());
            Volatile.Write(ref _counted, true);
        }
    }

    /// <summary>
    /// The gauge's callback, on the collecting thread (the OTLP exporter's own, or a scrape's after <see cref="RefreshAsync"/>):
    /// counts again when the last count is older than <see cref="Freshness"/>, waiting at most <see cref="CollectTimeout"/>.
    /// </summary>
    private long Observe()
    {
        if (!Volatile.Read(ref _counted) || _time.GetElapsedTime(Volatile.Read(ref _countedAt)) >= Freshness)
        {
            using var timeout = new CancellationTokenSource(CollectTimeout);
            try
            {
                RefreshAsync(timeout.Token).WaitAsync(CollectTimeout).GetAwaiter().GetResult();
            }
            catch (Exception ex)
            {
                // Never out of a meter's callback: the collection exports the last known count.
                Log.QueuedRunsUnavailable(_logger, ex);
            }
        }

        return Interlocked.Read(ref _queued);
    }
}
