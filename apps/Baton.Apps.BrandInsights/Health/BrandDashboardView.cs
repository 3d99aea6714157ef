using Baton.Apps.BrandInsights.Metrics;
using Baton.Apps.BrandInsights.Trigger;
using Baton.Redis;
using Baton.Server.Views;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Health;

/// <summary>The dashboard's view: <c>/health</c>'s brands with this process's counters and each brand's list length (one pipelined <c>LLEN</c> per brand).</summary>
internal sealed class BrandDashboardView(IRedisConnection redis, BrandRegistry registry, BrandMetrics metrics, BrandInsightsOptions options) : IBrandInsightsView
{
    /// <summary>Brands shown at most.</summary>
    public const int MaxBrands = 200;

    public async Task<BrandInsightsView> GetAsync(CancellationToken cancellationToken = default)
    {
        var all = registry.Brands;
        var brands = all.Order(StringComparer.Ordinal).Take(MaxBrands).ToList();
        var connected = await RedisAnswers.CheckAsync(redis).ConfigureAwait(false);
        long?[] backlogs = new long?[brands.Count];
        if (connected && brands.Count > 0)
        {
            try
            {
                var db = redis.Database;
                var reads = brands.Select(b => db.ListLengthAsync(BrandKeys.Chunks(b))).ToArray();
                var lengths = await Task.WhenAll(reads).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
                backlogs = [.. lengths.Select(l => (long?)l)];
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                connected = false;
            }
        }

        var rows = brands.Select((b, i) =>
        {
            var (merged, duplicates, failed) = metrics.Counters(b);
            return new BrandView(b, merged, duplicates, failed, backlogs[i]);
        }).ToList();
        return new BrandInsightsView(connected, options.OrchestratorId, rows, all.Count);
    }
}
