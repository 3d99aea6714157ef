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
        if (BrandNameProblem(brand) is { } problem)
        {
            // The brand is the runs' concurrency key: one the store cannot keep would have every run refused by the inbox.
            return new RedisBatchPlan([], [.. batch.Items.Select(item => new RejectedItem(item, problem))]);
        }

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

        var messages = parts.Where(p => p.Count > 0).Select((chunks, i) => new InboxMessage
        {
            MessageId = parts.Count == 1 ? "brand-batch:" + batch.BatchId : $"brand-batch:{batch.BatchId}:{i}",
            Workflow = BrandMergeWorkflow.Name,
            Input = JsonSerializer.SerializeToElement(new BrandBatch(brand, chunks, i == 0 ? rejected.Count : 0), InputJson),
        }).ToList();
        return new RedisBatchPlan(messages, rejected) { ItemsOfMessages = [.. parts.Where(p => p.Count > 0)] };
    }

    /// <summary>
    /// Counts the chunks set aside on <c>failed:brand:&lt;brand&gt;</c> once they are there (the trigger's
    /// <see cref="RedisListTriggerOptions.DeadLettered"/>). Before, they were counted when a batch was mapped, and a batch is
    /// mapped again on every offer: one bad chunk counted 19 times while its brand's previous run still merged.
    /// </summary>
    public void DeadLettered(string listKey, IReadOnlyList<RejectedItem> items)
    {
        if (BrandKeys.BrandOf(listKey) is { } brand)
        {
            metrics.ChunksFailed(brand, items.Count);
        }
    }

    /// <summary>
    /// The run input's JSON: each chunk is a JSON string inside it, and the default encoder writes every quote of a chunk
    /// as <c>\u0022</c> (and other characters as escapes): the stored input was about 2.9 times the chunks' bytes. Only
    /// the run store reads it back, never a browser, so HTML-safe escaping buys nothing here.
    /// </summary>
    private static readonly JsonSerializerOptions InputJson = new(JsonSerializerOptions.Web) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Why chunks of <paramref name="brand"/> cannot be merged (the name cannot be a run's concurrency key), or null.</summary>
    internal static string? BrandNameProblem(string brand) =>
        brand.Length > Baton.Runs.RunLimits.MaxConcurrencyKeyLength
            ? $"the brand name has {brand.Length} characters; a brand's runs are keyed by it, and a key holds at most {Baton.Runs.RunLimits.MaxConcurrencyKeyLength}"
            : brand.Contains('\0', StringComparison.Ordinal) ? "the brand name holds the character U+0000, which no store can keep in a run's key"
            : null;
}
