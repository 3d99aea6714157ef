using Baton.Hosting;
using Baton.Runs;

namespace Baton.Server.Metrics;

/// <summary>
/// Feeds the engine's <c>baton.runs.queued</c> gauge: pending runs, counted with one query just before
/// each scrape.
/// </summary>
internal sealed class QueuedRunsGauge
{
    private static readonly CountRunsRequest Pending = new() { Statuses = [RunStatus.Pending] };

    private readonly IBatonClient _client;
    private readonly ILogger<QueuedRunsGauge> _logger;
    private long _queued;

    public QueuedRunsGauge(IBatonClient client, BatonMetrics metrics, ILogger<QueuedRunsGauge> logger)
    {
        _client = client;
        _logger = logger;
        metrics.ObserveQueuedRuns(() => Interlocked.Read(ref _queued));
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
    }
}
