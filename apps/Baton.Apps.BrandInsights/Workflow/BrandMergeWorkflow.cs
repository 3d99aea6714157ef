using Baton.Apps.BrandInsights.State;
using Baton.Steps;
using Baton.Workflows;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.BrandInsights.Workflow;

/// <summary>
/// <c>brand-merge</c>: merges one batch of a brand's chunks into its state and summary (one step). Runs of one brand
/// share the concurrency key <c>brand</c> with limit 1, so a brand is merged by one run at a time on every node. The
/// step retries <c>MAX_RETRIES</c> times with delay <c>RETRY_BACKOFF_BASE × 2^(attempt−1)</c>; when Redis is still
/// unreachable after that, the run waits durably and tries again, holding the brand so its batches stay in order.
/// </summary>
internal sealed class BrandMergeWorkflow(BrandStateStore store, BrandInsightsOptions options, ILogger<BrandMergeWorkflow> logger)
    : Workflow<BrandBatch, MergeOutcome>
{
    public const string Name = "brand-merge";

    private static readonly string[] OutageErrors =
    [
        "StackExchange.Redis.RedisConnectionException",
        "StackExchange.Redis.RedisTimeoutException",
        typeof(StepTimeoutException).FullName!,
    ];

    public override async Task<MergeOutcome> RunAsync(IWorkflowContext context, BrandBatch input, CancellationToken cancellationToken)
    {
        context.SetPhase("merging");
        context.SetProgress("chunks.received", input.Chunks.Count + input.Rejected);
        context.SetProgress("chunks.failed", input.Rejected);
        var step = new StepOptions { Retry = options.RetryPolicy, Timeout = options.ChunkFetchTimeout };
        MergeOutcome outcome;
        while (true)
        {
            try
            {
                outcome = await context.StepAsync("merge", ct => store.MergeAsync(input.Brand, input.Chunks, context.RunId, ct), step, cancellationToken: cancellationToken);
                break;
            }
            catch (StepFailedException ex) when (IsOutage(ex))
            {
                Log.MergeWaitsForRedis(logger, input.Brand, ex.Message);
                context.SetPhase("waiting for Redis");
                await context.DelayAsync("redis-wait", OutageWait, cancellationToken);
                context.SetPhase("merging");
            }
        }

        context.SetProgress("chunks.merged", outcome.Merged);
        context.SetProgress("chunks.duplicates", outcome.Duplicates);
        context.SetProgress("chunks.failed", input.Rejected + outcome.Failed);
        context.SetProgress("brand.totalChunks", outcome.TotalChunks);
        context.SetProgress("brand.totalMentions", (long)outcome.TotalMentions);
        context.SetProgress("brand.backlog", outcome.Backlog);
        context.SetPhase("merged");
        Log.BatchMerged(logger, input.Brand, outcome.Merged, outcome.Duplicates, outcome.Failed, outcome.Backlog);
        return outcome;
    }

    /// <summary>The wait between rounds of attempts while Redis is down: the longest retry delay, at most a minute.</summary>
    private TimeSpan OutageWait => TimeSpan.FromTicks(Math.Min(options.RetryPolicy.MaxDelay.Ticks, TimeSpan.FromMinutes(1).Ticks));

    private static bool IsOutage(StepFailedException ex) =>
        OutageErrors.Contains(ex.ErrorType, StringComparer.Ordinal)
        || (ex.ErrorType == "StackExchange.Redis.RedisServerException" && ex.Message.StartsWith("LOADING", StringComparison.Ordinal));
}
