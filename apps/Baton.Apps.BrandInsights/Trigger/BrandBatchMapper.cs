using System.Text;
using System.Text.Json;
using Baton.Apps.BrandInsights.Merging;
using Baton.Apps.BrandInsights.Metrics;
using Baton.Apps.BrandInsights.Workflow;
using Baton.Inbox;
using Baton.Redis;

namespace Baton.Apps.BrandInsights.Trigger;

/// <summary>
/// Turns a batch moved from <c>result:brand:&lt;brand&gt;:chunks</c> into <c>brand-merge</c> runs: the chunks that pass
/// <see cref="ChunkParser"/> go raw into one run (message id from the batch id, so a batch offered again finds its run);
/// the others are rejected with their reason and dead-lettered raw onto <c>failed:brand:&lt;brand&gt;</c>. A batch whose
/// chunks pass <see cref="MaxRunInputBytes"/> is split into several runs in order; the brand's concurrency key starts
/// them one after the other.
/// </summary>
internal sealed class BrandBatchMapper(BrandInsightsOptions options, BrandMetrics metrics)
{
    /// <summary>The most chunk bytes one run's input holds. 4 MiB.</summary>
    public const int MaxRunInputBytes = 4 * 1024 * 1024;

    public RedisBatchPlan Map(RedisListBatch batch)
    {
        var brand = BrandKeys.BrandOf(batch.ListKey) ?? throw new InvalidOperationException($"'{batch.ListKey}' is not a brand's chunk list");
        var parts = new List<List<string>> { new() };
        var rejected = new List<RejectedItem>();
        var bytes = 0L;
        foreach (var item in batch.Items)
        {
            if (ChunkParser.Parse(item, brand, options.MaxChunkBytes, out var reason) is null)
            {
                rejected.Add(new RejectedItem(item, reason!));
                continue;
            }

            var size = Encoding.UTF8.GetByteCount(item);
            if (bytes + size > MaxRunInputBytes && parts[^1].Count > 0)
            {
                parts.Add([]);
                bytes = 0;
            }

            parts[^1].Add(item);
            bytes += size;
        }

        if (rejected.Count > 0)
        {
            metrics.ChunksFailed(brand, rejected.Count);
        }

        var messages = parts.Where(p => p.Count > 0).Select((chunks, i) => new InboxMessage
        {
            MessageId = parts.Count == 1 ? "brand-batch:" + batch.BatchId : $"brand-batch:{batch.BatchId}:{i}",
            Workflow = BrandMergeWorkflow.Name,
            Input = JsonSerializer.SerializeToElement(new BrandBatch(brand, chunks, i == 0 ? rejected.Count : 0), JsonSerializerOptions.Web),
        }).ToList();
        return new RedisBatchPlan(messages, rejected);
    }
}
