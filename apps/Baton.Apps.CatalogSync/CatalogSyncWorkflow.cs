using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Baton.Apps.CatalogSync.Blobs;
using Baton.Apps.CatalogSync.Fetch;
using Baton.Apps.CatalogSync.Processing;
using Baton.Hosting;
using Baton.Retries;
using Baton.Steps;
using Baton.Workflows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Apps.CatalogSync;

/// <summary>Input of a sync run. Every field is optional.</summary>
public sealed record CatalogSyncInput
{
    /// <summary>What started the run (<c>api</c>, <c>schedule</c>, <c>demo</c>), for the record.</summary>
    public string? Trigger { get; init; }
}

/// <summary>What a finished sync did. <c>Resumed</c>: the download continued a broken one with a Range request.</summary>
public sealed record CatalogSyncSummary(
    long Bytes, string Sha256, long Lines, int Chunks, int ChunksDeadLettered,
    long Records, long Inserted, long Updated, long Skipped, long Failed, long Blank, string Summary, bool Resumed);

/// <summary>
/// The catalog sync (seeds 000 + 003) as one durable workflow: <c>fetch</c> streams the feed into the blob
/// store (resumable) and cuts it into chunks at byte offsets as it goes; the <c>chunks</c> fan-out upserts
/// each chunk in its own transaction (bounded parallelism, a chunk that keeps failing is dead-lettered and
/// the others go on), starting each chunk as soon as its bytes are stored, so processing overlaps the
/// download; <c>cleanup</c> removes the file. Phases: fetching (chunks are already processed), processing,
/// cleanup, completed. A singleton: a second start while one runs is a conflict.
/// </summary>
internal sealed class CatalogSyncWorkflow(
    FeedDownloader downloader, ChunkProcessor processor, IProductStore store, IBlobStore blobs,
    Remote.RemoteSync remoteSync, Nodes.IBatonNodes nodes, IOptions<CatalogSyncOptions> options, ILogger<CatalogSyncWorkflow> logger)
    : Workflow<CatalogSyncInput?, CatalogSyncSummary>
{
    public const string Name = CatalogSyncApp.WorkflowName;
    public const string ConcurrencyKey = "catalog-sync";

    /// <summary>How many times one node downloads again a feed file it lost within one sync.</summary>
    private const int MaxFetchAgainRounds = 20;

    public override async Task<CatalogSyncSummary> RunAsync(IWorkflowContext context, CatalogSyncInput? input, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var runId = context.RunId;
        if (settings.Mode == CatalogSyncMode.Remote)
        {
            var remote = await remoteSync.RunAsync(context, settings.Remote, cancellationToken).ConfigureAwait(false);
            Log.SyncFinished(logger, runId, remote.Summary);
            return remote;
        }

        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);

        // The fetch step hands each chunk over as soon as its bytes are stored, and the fan-out processes it
        // while the rest downloads. When the run resumes with the fetch already done, or the download could
        // not hand chunks over, the chunks come from the fetch step's result instead.
        context.SetPhase("fetching");
        SetTotals(context, await store.RunTotalsAsync(runId, cancellationToken).ConfigureAwait(false));
        var fetchOptions = new StepOptions
        {
            Retry = new RetryPolicy { MaxAttempts = settings.FetchAttempts, BaseDelay = settings.FetchRetryDelay, MaxDelay = TimeSpan.FromMinutes(5) },
            Timeout = settings.FetchTimeout,
        };
        var live = Channel.CreateUnbounded<ChunkRange>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
        var cut = 0;
        // Across the fetch's attempts: what was handed out, and the feed's validator, so a retry keeps to the same bytes.
        var ledger = new DownloadLedger(t => store.AppliedChecksumsAsync(runId, t));
        var fetch = context.StepAsync(
            "fetch",
            ct => downloader.DownloadAsync(
                runId,
                ledger,
                bytes => context.SetProgress("bytes", bytes),
                chunk =>
                {
                    cut = Math.Max(cut, chunk.Index + 1);
                    context.SetProgress("chunks.cut", cut);
                    live.Writer.TryWrite(chunk);
                },
                ct),
            fetchOptions,
            cancellationToken: cancellationToken);
        // The download's end is reported when it happens, not when the fan-out lists the last chunk: the engine lists chunks
        // only a few ahead of the ones running, so that is near the end of processing.
        _ = fetch.ContinueWith(
            done =>
            {
                // Before the listing is let go, so no later phase (cleanup) can come before this one.
                if (done.IsCompletedSuccessfully)
                {
                    context.SetProgress("fetched", 1);
                    context.SetProgress("bytes", done.Result.Length);
                    context.SetProgress("lines.total", done.Result.Lines);
                    context.SetProgress("chunks.cut", done.Result.Chunks?.Count ?? 0);
                    context.SetPhase("processing");
                }

                live.Writer.TryComplete();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        async IAsyncEnumerable<ChunkRange> Chunks([EnumeratorCancellation] CancellationToken stop = default)
        {
            var listed = new HashSet<int>();
            await foreach (var chunk in live.Reader.ReadAllAsync(stop).ConfigureAwait(false))
            {
                listed.Add(chunk.Index);
                yield return chunk;
            }

            var done = await fetch.ConfigureAwait(false);
            // A fetch recorded by a version that did not cut chunks while downloading has none.
            var all = done.Chunks ?? throw new NonRetryableException("this run's fetch was recorded by an older version of Baton, without its chunks; start a new sync");
            await EnsureFeedFileHereAsync(done, all.Count, stop).ConfigureAwait(false);
            foreach (var chunk in all)
            {
                if (!listed.Contains(chunk.Index))
                {
                    yield return chunk;
                }
            }
        }

        // A run taken over from a node that died after its download has the fetch's result but not the file, which is on
        // that node's disk (each node has its own BlobDirectory unless they share one): this node downloads it again, in a
        // step of its own (keyed by node, so a third node that takes over later downloads it too), before any chunk of it
        // is read. Nothing is downloaded when the file is here or every chunk is already applied. A file of the run's name
        // with another length than the download recorded (an older download of this node's that was never recorded) is
        // not read: it is removed and downloaded again. A node that loses its file once more (a directory that does not
        // outlive a restart, under the same node id) replays its recorded step and calls it again (the engine keys the
        // second call fetch@<node>#2).
        async Task EnsureFeedFileHereAsync(FeedFile done, int chunks, CancellationToken stop)
        {
            // One ledger across the step's attempts: a broken stream is resumed by the next attempt.
            var again = DownloadLedger.Empty();
            for (var round = 1; ; round++)
            {
                var length = await blobs.GetLengthAsync(done.Blob, stop).ConfigureAwait(false);
                if (length == done.Length || (await store.RunTotalsAsync(runId, stop).ConfigureAwait(false)).Chunk >= chunks)
                {
                    return;
                }

                if (length is not null)
                {
                    await blobs.DeleteAsync(done.Blob, stop).ConfigureAwait(false);
                }

                if (round > MaxFetchAgainRounds)
                {
                    throw new NonRetryableException($"this node lost the sync's feed file {MaxFetchAgainRounds} times while the sync ran; start a new sync (a BlobDirectory that outlives restarts avoids the downloads)");
                }

                await context.StepAsync(
                    $"fetch@{nodes.NodeId}",
                    ct => downloader.FetchAgainAsync(runId, done, again, bytes => context.SetProgress("bytes", bytes), ct),
                    fetchOptions,
                    cancellationToken: stop).ConfigureAwait(false);
            }
        }

        var blob = FeedDownloader.BlobName(runId);
        IReadOnlyList<ItemResult<ChunkStats>> results;
        try
        {
            results = await context.ForEachAsync(
                "chunks",
                Chunks(),
                chunk => chunk.Index.ToString("D6", CultureInfo.InvariantCulture),
                async (chunk, ct) =>
                {
                    var (stats, applied) = await processor.ProcessAsync(runId, blob, chunk, ct).ConfigureAwait(false);
                    if (applied)
                    {
                        context.IncrementProgress("records", stats.Records);
                        context.IncrementProgress("inserted", stats.Inserted);
                        context.IncrementProgress("updated", stats.Updated);
                        context.IncrementProgress("skipped", stats.Skipped);
                        context.IncrementProgress("failed", stats.Failed);
                        context.IncrementProgress("blank", stats.Blank);
                    }

                    Log.ChunkDone(logger, runId, chunk.Index, stats.Records, stats.Inserted, stats.Updated, stats.Skipped, stats.Failed);
                    return stats;
                },
                new ForEachOptions
                {
                    MaxParallelism = settings.Parallelism,
                    OnItemFailure = ItemFailurePolicy.DeadLetter,
                    Step = new StepOptions
                    {
                        Retry = new RetryPolicy { MaxAttempts = settings.ChunkAttempts, BaseDelay = settings.ChunkRetryDelay, MaxDelay = TimeSpan.FromMinutes(5) },
                        Timeout = settings.ChunkTimeout,
                    },
                },
                cancellationToken: cancellationToken);
        }
        catch
        {
            // Let a download still going (the fan-out stopped first) end before the run does.
            await ((Task)fetch).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }

        var file = await fetch.ConfigureAwait(false);

        // The engine has reported each set-aside chunk already ("chunks/<n> dead-lettered: <error>", its step key).
        var deadChunks = results.Where(r => !r.Succeeded).ToList();
        if (FailureOf(deadChunks, file.Chunks.Count) is { } failure)
        {
            throw new NonRetryableException(failure);
        }

        var totals = await store.RunTotalsAsync(runId, cancellationToken).ConfigureAwait(false);
        SetTotals(context, totals);

        context.SetPhase("cleanup");
        await context.StepAsync(
            "cleanup",
            async ct =>
            {
                if (!settings.KeepFeedFiles)
                {
                    await blobs.DeleteAsync(file.Blob, ct).ConfigureAwait(false);
                }
            },
            cancellationToken: cancellationToken);

        context.SetPhase("completed");
        var summary = string.Create(
            CultureInfo.InvariantCulture,
            $"{totals.Records} records in {file.Chunks.Count} chunks ({file.Length} bytes): {totals.Inserted} inserted, {totals.Updated} updated, {totals.Skipped} skipped, {totals.Failed} dead letters{(deadChunks.Count > 0 ? $", {deadChunks.Count} chunks set aside" : "")}");
        Log.SyncFinished(logger, runId, summary);
        return new CatalogSyncSummary(
            file.Length, file.Sha256, file.Lines, file.Chunks.Count, deadChunks.Count,
            totals.Records, totals.Inserted, totals.Updated, totals.Skipped, totals.Failed, totals.Blank, summary, file.Resumed);
    }

    /// <summary>
    /// Why the chunks set aside fail the run, or null when they are the feed's own bad lines (the run succeeds and lists
    /// them). Each cause below says nothing about the feed's products, so a run that ended "succeeded" with those chunks
    /// missing would be wrong (before: a reviewer's run reported 3 of 4 chunks, 75 % of the products, as a success).
    /// </summary>
    private static string? FailureOf(List<ItemResult<ChunkStats>> dead, int chunks)
    {
        if (dead.FirstOrDefault(r => r.ErrorType == typeof(FeedChangedException).FullName) is { } changed)
        {
            // A chunk this run applied from other bytes of the feed: the run cannot end with one version of the catalog.
            return changed.Error ?? "the feed changed while this sync ran; start a new sync";
        }

        // The feed file went away while its chunks were applied (deleted by hand, a cleaner, a lost volume).
        var unread = dead.Count(r => r.ErrorType == typeof(BlobNotFoundException).FullName);
        if (unread > 0)
        {
            return $"the feed file was removed while the sync ran: {unread} of {chunks} chunks could not be read from it; start a new sync";
        }

        // Bytes on disk other than those downloaded.
        var mismatched = dead.Count(r => r.ErrorType == typeof(ChunkChangedException).FullName);
        return mismatched > 0
            ? $"the feed file on this node is not the one this sync downloaded: {mismatched} of {chunks} chunks did not match their checksums; start a new sync"
            : null;
    }

    private static void SetTotals(IWorkflowContext context, ChunkStats totals)
    {
        context.SetProgress("records", totals.Records);
        context.SetProgress("inserted", totals.Inserted);
        context.SetProgress("updated", totals.Updated);
        context.SetProgress("skipped", totals.Skipped);
        context.SetProgress("failed", totals.Failed);
        context.SetProgress("blank", totals.Blank);
    }

    public static BatonBuilder Register(BatonBuilder baton) =>
        baton.AddWorkflow<CatalogSyncWorkflow>(Name, o =>
        {
            o.Description = "Catalog sync (seeds 000 + 003): fetch the MediPim NDJSON feed, upsert it into the products table in chunks.";
            o.ConcurrencyKey = ConcurrencyKey;
            o.ConcurrencyLimit = 1;
        });
}
