using System.Globalization;
using Baton.Retries;
using Baton.Steps;
using Baton.Workflows;

namespace Baton.Apps.CatalogSync.Remote;

/// <summary>
/// The remote-mode body of the catalog-sync workflow: one durable <c>remote-fetch</c> step, then one durable
/// step per Maintainer call (<c>remote-chunk/{offset}</c>) until <c>hasMore</c> is false. A restarted run skips
/// calls already answered. A call that fails on every attempt is reported and the sync goes on at
/// <c>offset + limit</c> (the seed stopped the whole sync there); three such calls in a row fail the run.
/// </summary>
internal sealed class RemoteSync(RemoteServices services)
{
    public async Task<CatalogSyncSummary> RunAsync(IWorkflowContext context, RemoteOptions remote, CancellationToken cancellationToken)
    {
        var retry = new RetryPolicy { MaxAttempts = remote.Attempts, BaseDelay = remote.RetryDelay, MaxDelay = TimeSpan.FromMinutes(5) };
        context.SetPhase("fetching");
        await context.StepAsync("remote-fetch", services.FetchAsync, new StepOptions { Retry = retry, Timeout = remote.FetchTimeout }, cancellationToken: cancellationToken);
        context.SetProgress("fetched", 1);

        context.SetPhase("processing");
        long offset = 0, records = 0, inserted = 0, updated = 0, skipped = 0, failed = 0;
        int chunks = 0, failedChunks = 0, failedInARow = 0;
        while (true)
        {
            var at = offset;
            RemoteChunkResult result;
            try
            {
                result = await context.StepAsync(
                    $"remote-chunk/{at.ToString("D10", CultureInfo.InvariantCulture)}",
                    ct => services.ProcessAsync(at, remote.ChunkSize, ct),
                    new StepOptions { Retry = retry, Timeout = remote.ChunkTimeout },
                    cancellationToken: cancellationToken);
            }
            catch (StepFailedException ex)
            {
                failedChunks++;
                if (++failedInARow >= 3)
                {
                    // Without an answer there is no hasMore: three failed calls in a row end the sync instead of guessing on. The
                    // failure names the last call's step, so a retry of the run calls it again (the engine reopens the failed step).
                    throw new StepFailedException(ex.StepKey, $"3 Maintainer calls in a row failed on every attempt (the last at offset {at}): {ex.Message}", ex.ErrorType);
                }

                context.SetProgress("chunks.deadLettered", failedChunks);
                // Reported in a step of its own: the workflow's code runs again on every restart and retry, and the stored failure
                // of the call is met again then, but a finished step is not run again, so the call is reported once.
                var message = $"Maintainer chunk at offset {at} failed on every attempt and was skipped: {ex.Message}";
                await context.StepAsync(
                    $"{ex.StepKey}/skipped",
                    _ =>
                    {
                        context.ReportError(message, ex.StepKey);
                        return Task.CompletedTask;
                    },
                    cancellationToken: cancellationToken);
                offset = at + remote.ChunkSize;
                continue;
            }

            failedInARow = 0;
            chunks++;
            records += result.Records;
            inserted += result.Inserted;
            updated += result.Updated;
            skipped += result.Skipped;
            failed += result.Failed;
            context.SetProgress("chunks.done", chunks);
            context.SetProgress("records", records);
            context.SetProgress("inserted", inserted);
            context.SetProgress("updated", updated);
            context.SetProgress("skipped", skipped);
            context.SetProgress("failed", failed);
            if (!result.HasMore)
            {
                break;
            }

            offset = result.NextOffset;
        }

        context.SetProgress("chunks.total", chunks + failedChunks);
        context.SetPhase("completed");
        var summary = string.Create(
            CultureInfo.InvariantCulture,
            $"remote mode: {records} records in {chunks} Maintainer calls: {inserted} inserted, {updated} updated, {skipped} skipped, {failed} failed{(failedChunks > 0 ? $", {failedChunks} calls failed and were skipped" : "")}");
        return new CatalogSyncSummary(0, "", records, chunks, failedChunks, records, inserted, updated, skipped, failed, 0, summary, false);
    }
}
