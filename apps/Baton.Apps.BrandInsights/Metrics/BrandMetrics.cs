using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Baton.Apps.BrandInsights.Metrics;

/// <summary>
/// The app's Prometheus series, kept as plain counters and written as Prometheus text by <see cref="Write"/>.
/// Written by hand rather than through OpenTelemetry's Prometheus exporter: a handful of counters and one histogram
/// need no prerelease package, and the exposition stays on the app's own port (<c>PROMETHEUS_PORT</c>) apart from
/// Baton's <c>/metrics</c>.
/// </summary>
internal sealed class BrandMetrics
{
    /// <summary>Merge duration buckets, in seconds.</summary>
    private static readonly double[] Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly ConcurrentDictionary<string, BrandCounters> _brands = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _redisErrors = new(StringComparer.Ordinal);
    private readonly long[] _bucketCounts = new long[Buckets.Length];
    private readonly Lock _histogramLock = new();
    private long _mergeCount;
    private double _mergeSum;

    public void BatchMerged(string brand, int merged, int duplicates, int failed, TimeSpan duration)
    {
        var counters = Of(brand);
        Interlocked.Add(ref counters.Processed, merged);
        Interlocked.Add(ref counters.Duplicates, duplicates);
        Interlocked.Add(ref counters.Failed, failed);
        Interlocked.Increment(ref counters.SummaryWrites);
        var seconds = duration.TotalSeconds;
        lock (_histogramLock)
        {
            _mergeCount++;
            _mergeSum += seconds;
            for (var i = 0; i < Buckets.Length; i++)
            {
                if (seconds <= Buckets[i])
                {
                    _bucketCounts[i]++;
                }
            }
        }
    }

    public void ChunksFailed(string brand, int count) => Interlocked.Add(ref Of(brand).Failed, count);

    /// <summary>A batch whose chunks were all merged before: no summary write, no merge duration, only the duplicates.</summary>
    public void ChunksDuplicate(string brand, int count) => Interlocked.Add(ref Of(brand).Duplicates, count);

    public void RedisError(string operation) => _redisErrors.AddOrUpdate(operation, 1, (_, n) => n + 1);

    public long Processed(string brand) => _brands.TryGetValue(brand, out var c) ? Interlocked.Read(ref c.Processed) : 0;

    /// <summary>A brand's chunks merged, skipped as duplicates and failed in this process (zeros for a brand not seen).</summary>
    public (long Merged, long Duplicates, long Failed) Counters(string brand) =>
        _brands.TryGetValue(brand, out var c) ? (Interlocked.Read(ref c.Processed), Interlocked.Read(ref c.Duplicates), Interlocked.Read(ref c.Failed)) : (0, 0, 0);

    /// <summary>The Prometheus text exposition (format 0.0.4).</summary>
    public string Write(IReadOnlyCollection<string> activeBrands, bool redisConnected)
    {
        var text = new StringBuilder();
        var brands = _brands.OrderBy(b => b.Key, StringComparer.Ordinal).ToList();
        Counter(text, "orchestrator_chunks_processed_total", "Chunks merged into their brand's summary (each chunk id once).", brands, c => c.Processed);
        Counter(text, "orchestrator_chunks_duplicate_total", "Chunks skipped because their chunk id was merged before.", brands, c => c.Duplicates);
        Counter(text, "orchestrator_chunks_failed_total", "Chunks dead-lettered onto failed:brand:<brand> (not JSON, missing or wrong fields).", brands, c => c.Failed);
        Counter(text, "orchestrator_summary_writes_total", "Writes of summary:brand:<brand>.", brands, c => c.SummaryWrites);
        text.Append("# HELP orchestrator_merge_duration_seconds Time to merge one batch of a brand's chunks and write its summary.\n");
        text.Append("# TYPE orchestrator_merge_duration_seconds histogram\n");
        lock (_histogramLock)
        {
            for (var i = 0; i < Buckets.Length; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"orchestrator_merge_duration_seconds_bucket{{le=\"{Buckets[i]}\"}} {_bucketCounts[i]}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"orchestrator_merge_duration_seconds_bucket{{le=\"+Inf\"}} {_mergeCount}\n");
            text.Append(CultureInfo.InvariantCulture, $"orchestrator_merge_duration_seconds_sum {_mergeSum}\n");
            text.Append(CultureInfo.InvariantCulture, $"orchestrator_merge_duration_seconds_count {_mergeCount}\n");
        }

        text.Append("# HELP orchestrator_redis_errors_total Redis calls of the app that failed, by operation.\n# TYPE orchestrator_redis_errors_total counter\n");
        foreach (var (operation, count) in _redisErrors.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"orchestrator_redis_errors_total{{operation=\"{Escape(operation)}\"}} {count}\n");
        }

        text.Append("# HELP orchestrator_redis_connected 1 while Redis answers, else 0.\n# TYPE orchestrator_redis_connected gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"orchestrator_redis_connected {(redisConnected ? 1 : 0)}\n");
        text.Append("# HELP orchestrator_active_brands Brands read from brands:list at the last refresh.\n# TYPE orchestrator_active_brands gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"orchestrator_active_brands {activeBrands.Count}\n");
        return text.ToString();
    }

    private static void Counter(StringBuilder text, string name, string help, List<KeyValuePair<string, BrandCounters>> brands, Func<BrandCounters, long> value)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n");
        foreach (var (brand, counters) in brands)
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}{{brand=\"{Escape(brand)}\"}} {value(counters)}\n");
        }
    }

    private static string Escape(string label) => label.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private BrandCounters Of(string brand) => _brands.GetOrAdd(brand, _ => new BrandCounters());

    private sealed class BrandCounters
    {
        public long Processed;
        public long Duplicates;
        public long Failed;
        public long SummaryWrites;
    }
}
