using Baton.Hosting;
using Baton.Runs;
using Baton.Storage;

namespace Baton.Server.Metrics;

/// <summary>
/// Feeds the engine's <c>baton.runs.queued</c> gauge: pending runs, counted from the store just before
/// each scrape. The store has no count query, so it pages through pending runs and stops at
/// <see cref="Cap"/> (a queue that long reads as the cap).
/// </summary>
internal sealed class QueuedRunsGauge
{
    public const int Cap = 10_000;
    private const int PageSize = 500;

    private readonly IRunStore _runs;
    private readonly ILogger<QueuedRunsGauge> _logger;
    private long _queued;

    public QueuedRunsGauge(IRunStore runs, BatonMetrics metrics, ILogger<QueuedRunsGauge> logger)
    {
        _runs = runs;
        _logger = logger;
        metrics.ObserveQueuedRuns(() => Interlocked.Read(ref _queued));
    }

    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            long count = 0;
            string? cursor = null;
            do
            {
                var page = await _runs.ListRunsAsync(new ListRunsRequest { Status = RunStatus.Pending, Cursor = cursor, Limit = PageSize }, cancellationToken).ConfigureAwait(false);
                count += page.Runs.Count;
                cursor = page.NextCursor;
            }
            while (cursor is not null && count < Cap);

            Interlocked.Exchange(ref _queued, Math.Min(count, Cap));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The scrape still answers with the other metrics and the last known queue length.
            Log.QueuedRunsUnavailable(_logger, ex);
        }
    }
}
