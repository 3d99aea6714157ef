using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Baton.Apps.CatalogSync.Blobs;
using Baton.Apps.CatalogSync.Processing;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.CatalogSync.Fetch;

/// <summary>
/// Streams the feed into the blob store and cuts it into chunks on the way. A download that breaks leaves
/// its partial blob; the next attempt asks for the rest with <c>Range: bytes=N-</c> and appends when the feed
/// answers 206, or starts over when it answers 200. The blob is committed only when it has every byte the
/// feed announced, so a partial file is never taken for a complete one.
/// </summary>
/// <remarks>
/// Live chunks: on a download from byte 0, from a feed that announces <c>Accept-Ranges: bytes</c>, into a
/// blob store that can read a blob while it is written, each chunk is handed to <c>onChunk</c> as soon as its
/// last byte is stored, so processing overlaps the download. Such a feed resumes a broken download by
/// appending, so the bytes of a chunk handed out never change. If it answers a later Range request with 416,
/// or with a 200 whose first bytes are not those of the partial file, after chunks were handed out in this process,
/// starting over would rewrite the file under them, and the fetch fails for good instead: start a new sync.
/// <para>One version of the feed: the first answer's strong ETag and length are kept in the ledger and in the partial
/// file's note. A resume sends the ETag as <c>If-Range</c> (a feed that changed answers 200, as above), checks the
/// length and ETag the feed announces against them and that the export is not shorter than the partial file, and asks
/// again for the last <see cref="OverlapBytes"/> it has, which must be the bytes it has; a feed that fails a check
/// gets the partial file discarded and the download starts over (or, with chunks handed out, fails for good). A
/// partial file another execution left (a crash, a retry) whose note names no ETag is not resumed: the download starts
/// over. Every chunk cut is compared with the chunk of the same index this run handed out or applied before (the
/// product store keeps each applied chunk's checksum): a download that starts over with other bytes fails with
/// <see cref="FeedChangedException"/> instead of joining two versions of the feed. A run whose chunks were applied by a
/// version that kept no checksums is never started over (it resumes as before, or fails). A feed without a strong ETag
/// cannot vouch for the bytes before the break, so its resume asks from byte 0 and compares all of them (before, a new
/// export of the same length changed before the overlap was joined to the old one's start). While chunks are handed out,
/// a 200 to an If-Range that no longer matches (a new export, or an ETag that differs on every answer, behind a load
/// balancer) is compared from byte 0 the same way instead of failing the sync.</para>
/// <para>Retry-After: a 429 or 503 that says when to come back is a <see cref="Retries.RetryAfterException"/>, so
/// the next attempt waits that long (up to the fetch's longest retry delay).</para>
/// <para>Leftovers: a sync whose download starts from byte 0 first removes the feed files of earlier syncs (a
/// failed or cancelled sync keeps its file, so that retrying it resumes the download): their partial files
/// always, their complete files unless <see cref="CatalogSyncOptions.KeepFeedFiles"/>. Syncs are singletons, so
/// no other sync is using them; retrying such an older sync afterwards downloads its feed again.</para>
/// </remarks>
internal sealed class FeedDownloader(
    HttpClient http, IBlobStore blobs, Microsoft.Extensions.Options.IOptions<CatalogSyncOptions> options, ILogger<FeedDownloader> logger, TimeProvider time)
{
    /// <summary>The blob a run's feed is stored in.</summary>
    public static string BlobName(string runId) => $"{runId}.ndjson";

    /// <summary>How many bytes a resume asks for again, before what it has, to see that the feed still serves them.</summary>
    public const int OverlapBytes = 64 * 1024;

    private static readonly byte[] RequestBody = """{"filter":{"status":"active"},"sorting":{"createdAt":"ASC"}}"""u8.ToArray();

    public async Task<FeedFile> DownloadAsync(
        string runId, DownloadLedger ledger, Action<long> onBytes, Action<ChunkRange>? onChunk, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var blob = BlobName(runId);
        await ledger.LoadAppliedAsync(cancellationToken).ConfigureAwait(false);
        if (await blobs.GetLengthAsync(blob, cancellationToken).ConfigureAwait(false) is { } committed)
        {
            // An earlier attempt committed the file but did not live to record the step.
            onBytes(committed);
            return await IndexAsync(runId, blob, committed, 0, false, settings.ChunkSize, ledger, cancellationToken).ConfigureAwait(false);
        }

        var have = await blobs.GetPartialLengthAsync(blob, cancellationToken).ConfigureAwait(false);
        if (have > 0 && !ledger.AnsweredHere && !ledger.TryTakeNote(await blobs.GetPartialNoteAsync(blob, cancellationToken).ConfigureAwait(false))
            && !ledger.AnyAppliedWithoutChecksum)
        {
            // Another execution's partial file (a crash, a retry, another node) whose note gives no ETag to resume it by: the
            // feed may have a new export by now, so the download starts over and every chunk this run applied is compared.
            // (A sync begun by an earlier version of Baton, whose chunks have no checksums to compare, resumes as it did.)
            Log.PartialDiscarded(logger, runId, have);
            await blobs.DeletePartialAsync(blob, cancellationToken).ConfigureAwait(false);
            have = 0;
        }

        if (have == 0)
        {
            await RemoveLeftoversAsync(runId, blob, settings.KeepFeedFiles, cancellationToken).ConfigureAwait(false);
        }

        // A resume asks again for the end of what it has, where the blob store can read a partial file back. A feed that gave
        // no strong ETag cannot vouch that the bytes before the break are still its export's (a new export of the same length
        // changed there would be joined to them): the resume asks for it from byte 0 and compares everything it has.
        var overlap = have > 0 && blobs.CanReadWhileWriting ? (ledger.Validator is null ? have : Math.Min(have, OverlapBytes)) : 0;
        if (have > 0 && overlap == have && ledger.Validator is null && have > OverlapBytes)
        {
            Log.FetchComparingWhole(logger, runId, have, "gave no strong ETag to resume by, so the resume asks for it from byte 0");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, settings.ApiUrl)
        {
            Content = new ByteArrayContent(RequestBody) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.ApiKeyId}:{settings.ApiKeySecret}")));
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have - overlap, null);
            if (ledger.Validator is { } validator)
            {
                request.Headers.TryAddWithoutValidation("If-Range", validator);
            }
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            // With the cause: "An error occurred while sending the request." alone hides a feed that closed the connection
            // without answering ("The response ended prematurely").
            throw new FeedException($"the request to the feed failed: {WithCause(ex)}", ex);
        }

        using (response)
        {
            var resume = false;
            long? total;
            switch (response.StatusCode)
            {
                case HttpStatusCode.PartialContent when have > 0 && response.Content.Headers.ContentRange is { From: { } from, Length: var length } && from == have - overlap:
                    if (NotTheSameFeed(ledger, have, length, response.Headers.ETag) is { } what)
                    {
                        throw await DiscardPartialAsync(ledger, blob, have, what, cancellationToken).ConfigureAwait(false);
                    }

                    resume = true;
                    total = length;
                    break;
                case HttpStatusCode.OK when have > 0 && overlap == have:
                    // Asked from byte 0 (the partial file is shorter than the overlap): the whole feed is that range, and is
                    // checked as a 206 from byte 0 would be (before: taken as a restart, refused once chunks were handed out).
                    total = response.Content.Headers.ContentLength;
                    if (NotTheSameFeed(ledger, have, total, response.Headers.ETag) is { } differs)
                    {
                        throw await DiscardPartialAsync(ledger, blob, have, differs, cancellationToken).ConfigureAwait(false);
                    }

                    resume = true;
                    break;
                case HttpStatusCode.OK when have > 0 && ledger.AnyHandedOut && blobs.CanReadWhileWriting:
                    // If-Range did not match (a new export, or a feed whose ETag differs from one answer to the next, as behind a
                    // load balancer whose origins tag the same export differently): starting over would rewrite the bytes under
                    // the chunks being applied, so the whole feed's first bytes are compared with them instead (before: the
                    // sync failed at the first broken stream of such a feed). Other bytes fail the sync below.
                    total = response.Content.Headers.ContentLength;
                    if (NotTheSameFeed(ledger, have, total, etag: null) is { } otherLength)
                    {
                        throw await DiscardPartialAsync(ledger, blob, have, otherLength, cancellationToken).ConfigureAwait(false);
                    }

                    Log.FetchComparingWhole(
                        logger, runId, have, $"answered the Range request (If-Range {ledger.Validator}) with the whole feed (200, ETag {response.Headers.ETag?.ToString() ?? "none"})");
                    overlap = have;
                    resume = true;
                    break;
                case HttpStatusCode.OK:
                    RefuseRestart(ledger, have > 0 ? "answered the Range request with the whole feed (200)" : "is downloaded again from byte 0");
                    if (have > 0)
                    {
                        Log.FetchRestarting(logger, runId, have, response.Headers.ETag?.ToString() ?? "none", ledger.Validator ?? "none");
                    }

                    total = response.Content.Headers.ContentLength;
                    ledger.Answered(response.Headers.ETag is { IsWeak: false } etag ? etag.ToString() : null, total);
                    break;
                case HttpStatusCode.PartialContent when have > 0:
                    // A range other than the one asked for: the partial file cannot be continued from it.
                    throw await DiscardPartialAsync(
                        ledger, blob, have, $"answers 206 with Content-Range '{response.Content.Headers.ContentRange}' where bytes {have - overlap}- were asked for", cancellationToken).ConfigureAwait(false);
                case HttpStatusCode.RequestedRangeNotSatisfiable:
                    RefuseRestart(ledger, "refused the Range request (416)");
                    // The partial file does not fit the feed any more (it changed or is longer): start over next attempt.
                    await blobs.DeleteAsync(blob, cancellationToken).ConfigureAwait(false);
                    throw new FeedException("the feed refused the Range request (416); the partial download was discarded and the next attempt starts over");
                case HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable when Baton.Server.Http.RetryAfterHeader.WaitOf(response, time) is { } wait:
                    throw new Retries.RetryAfterException(
                        $"the feed answered {(int)response.StatusCode} {response.ReasonPhrase} and asked to retry after {wait.TotalSeconds:0} s", wait);
                case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                    throw new FeedException($"the feed refused the credentials ({(int)response.StatusCode} {response.ReasonPhrase}); check MEDIPIM_API_KEY_ID and MEDIPIM_API_KEY_SECRET");
                default:
                    throw new FeedException($"the feed answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            var mediaType = response.Content.Headers.ContentType?.MediaType ?? "";
            if (mediaType.Contains("html", StringComparison.OrdinalIgnoreCase))
            {
                throw new FeedException($"the feed answered an HTML page ({mediaType}) instead of NDJSON");
            }

            if (resume)
            {
                Log.FetchResuming(logger, runId, have, total);
            }

            var written = resume ? have : 0;
            onBytes(written);
            // A download from byte 0 is hashed and cut as it streams; a resumed one is hashed and cut from the file at the end.
            using var hash = resume ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var cutter = resume ? null : new ChunkCutter(settings.ChunkSize);
            var live = cutter is not null && onChunk is not null && blobs.CanReadWhileWriting && response.Headers.AcceptRanges.Contains("bytes");
            await using (var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
            {
                if (resume && overlap > 0 && !await SameBytesAsync(source, blob, have - overlap, overlap, cancellationToken).ConfigureAwait(false))
                {
                    throw await DiscardPartialAsync(ledger, blob, have, $"serves other bytes than those downloaded before the break (the {overlap} bytes before byte {have})", cancellationToken).ConfigureAwait(false);
                }

                await using var target = await blobs.OpenPartialAsync(blob, restart: !resume, cancellationToken).ConfigureAwait(false);
                if (!resume)
                {
                    // What the bytes are a download of, for a resume by another execution.
                    await blobs.SetPartialNoteAsync(blob, ledger.Note, cancellationToken).ConfigureAwait(false);
                }

                // Two buffers: the next network read is in flight while this one is hashed, written and cut. File
                // writes are synchronous: they land in the page cache, and an async file write on Linux is a
                // thread-pool hop per buffer, which made the download latency-bound.
                byte[][] buffers = [new byte[1 << 18], new byte[1 << 18]];
                var current = 0;
                var first = !resume;
                var pending = source.ReadAsync(buffers[current], cancellationToken).AsTask();
                Task<int>? hashing = null;
                try
                {
                    int read;
                    while ((read = await pending.ConfigureAwait(false)) > 0)
                    {
                        var buffer = buffers[current];
                        current ^= 1;
                        pending = source.ReadAsync(buffers[current], cancellationToken).AsTask();
                        if (first && buffer[0] == (byte)'<')
                        {
                            throw new FeedException("the feed answered an HTML/XML page instead of NDJSON");
                        }

                        first = false;
                        // The hashes and the cut run on another core while this one writes the file: the
                        // buffer's time is the longer of the two instead of their sum (the download is
                        // most of a warm sync). The buffer is not read into again before both are done.
                        hashing = cutter is null ? null : Task.Run(() => HashAndCut(hash, cutter, buffer, read), cancellationToken);
                        if (target is FileStream)
                        {
                            target.Write(buffer, 0, read);
                        }
                        else
                        {
                            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        }

                        written += read;
                        onBytes(written);
                        if (hashing is not null && await hashing.ConfigureAwait(false) is > 0 and var cut)
                        {
                            if (live)
                            {
                                // The chunks' bytes are in the file before anyone is told to read them.
                                await target.FlushAsync(cancellationToken).ConfigureAwait(false);
                            }

                            TakeChunks(ledger, cutter!.Chunks, cutter.Chunks.Count - cut, live ? onChunk : null);
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException)
                {
                    await target.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    throw new FeedException(
                        $"the feed stream broke after {written} bytes{(total is { } t ? $" of {t}" : "")} ({WithCause(ex)}); the bytes received are kept, and a retry asks only for the rest when the feed serves ranges", ex);
                }
                finally
                {
                    // The hash must not be disposed under a hashing task that a failed write left running.
                    if (hashing is not null)
                    {
                        await ((Task)hashing).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    }

                    // A read still in flight when the loop stopped early ends with the stream; its outcome is not the error.
                    _ = pending.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }

                await target.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (target is FileStream file)
                {
                    file.Flush(flushToDisk: true);
                }
            }

            if (total is { } expected && written != expected)
            {
                throw new FeedException($"the feed stream ended after {written} bytes of {expected}; the bytes received are kept, and a retry asks only for the rest when the feed serves ranges");
            }

            await blobs.CommitAsync(blob, cancellationToken).ConfigureAwait(false);
            if (hash is null || cutter is null)
            {
                return await IndexAsync(runId, blob, written, 1, true, settings.ChunkSize, ledger, cancellationToken).ConfigureAwait(false);
            }

            var last = cutter.Chunks.Count;
            cutter.Finish();
            ledger.CheckEnd(cutter.Chunks.Count);
            TakeChunks(ledger, cutter.Chunks, last, live ? onChunk : null);

            var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            Log.FetchDone(logger, runId, written, sha);
            return new FeedFile(blob, written, sha, 1, false, cutter.Lines, [.. cutter.Chunks]);
        }
    }

    /// <summary>
    /// Downloads the feed again into this node's blob store for a run whose fetch another node did (its file is on that
    /// node's disk). The remaining chunks were cut from the first download, so the bytes must be the same: a feed that now
    /// serves other bytes fails the run (NonRetryable) rather than letting every remaining chunk fail its checksum.
    /// Returns the length.
    /// </summary>
    /// <param name="ledger">Kept across the step's attempts (<see cref="DownloadLedger.Empty"/>: the whole file is compared), so an attempt resumes the one before.</param>
    public async Task<long> FetchAgainAsync(string runId, FeedFile expected, DownloadLedger ledger, Action<long> onBytes, CancellationToken cancellationToken)
    {
        var again = await DownloadAsync(runId, ledger, onBytes, onChunk: null, cancellationToken).ConfigureAwait(false);
        if (again.Length != expected.Length || !string.Equals(again.Sha256, expected.Sha256, StringComparison.Ordinal))
        {
            await blobs.DeleteAsync(again.Blob, cancellationToken).ConfigureAwait(false);
            throw new Retries.NonRetryableException(
                $"this sync's feed file was downloaded by another node and is not in this node's BlobDirectory; downloaded again, the feed now serves other bytes "
                + $"({again.Length} bytes, SHA-256 {again.Sha256}; the first download had {expected.Length} bytes, SHA-256 {expected.Sha256}), so the chunks left cannot be read. "
                + "The chunks already applied stay; start a new sync (a BlobDirectory shared by the nodes avoids the second download)");
        }

        Log.FetchedAgain(logger, runId, again.Length);
        return again.Length;
    }

    /// <summary>Removes what earlier syncs left in the blob store (see the remarks).</summary>
    private async Task RemoveLeftoversAsync(string runId, string blob, bool keepComplete, CancellationToken cancellationToken)
    {
        foreach (var entry in await blobs.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (entry.Name == blob || !entry.Name.EndsWith(".ndjson", StringComparison.Ordinal))
            {
                continue;
            }

            if (entry.PartialLength > 0 || entry.Length is null)
            {
                await blobs.DeletePartialAsync(entry.Name, cancellationToken).ConfigureAwait(false);
                Log.LeftoverRemoved(logger, runId, entry.Name + ".part", entry.PartialLength);
            }

            if (entry.Length is { } length && !keepComplete)
            {
                await blobs.DeleteAsync(entry.Name, cancellationToken).ConfigureAwait(false);
                Log.LeftoverRemoved(logger, runId, entry.Name, length);
            }
        }
    }

    /// <summary>Adds a buffer to the file's SHA-256 and cuts it into chunks; returns how many chunks it completed.</summary>
    private static int HashAndCut(IncrementalHash? hash, ChunkCutter cutter, byte[] buffer, int count)
    {
        hash?.AppendData(buffer, 0, count);
        return cutter.Append(buffer.AsSpan(0, count));
    }

    /// <summary>
    /// Compares the chunks cut from <paramref name="from"/> on with those this run took from the feed before
    /// (<see cref="DownloadLedger.Check"/>), then hands each out to <paramref name="onChunk"/> (when live) once.
    /// </summary>
    private static void TakeChunks(DownloadLedger ledger, IReadOnlyList<ChunkRange> chunks, int from, Action<ChunkRange>? onChunk)
    {
        for (var i = from; i < chunks.Count; i++)
        {
            ledger.Check(chunks[i]);
        }

        for (var i = from; onChunk is not null && i < chunks.Count; i++)
        {
            if (ledger.HandOut(chunks[i]))
            {
                onChunk(chunks[i]);
            }
        }
    }

    /// <summary>Why a 206 at the offset asked for is not the feed the partial file is a download of, or null when it may be.</summary>
    private static string? NotTheSameFeed(DownloadLedger ledger, long have, long? length, EntityTagHeaderValue? etag)
    {
        if (ledger.Length is { } first && length is { } now && first != now)
        {
            return $"announces {now} bytes where its first answer announced {first}";
        }

        if (length is { } whole && whole < have)
        {
            return $"has {whole} bytes, fewer than the {have} downloaded";
        }

        return etag is { IsWeak: false } && ledger.Validator is { } validator && etag.ToString() != validator
            ? $"answers with ETag {etag} where its first answer had {validator}"
            : null;
    }

    /// <summary>
    /// A download that must start over from byte 0 may when nothing is being read from its partial file: the chunks it cuts
    /// are then compared with those the run applied (<see cref="DownloadLedger.Check"/>). Not when chunks were handed out in
    /// this process (the file would be rewritten under them), nor when applied chunks have no checksum to compare with.
    /// </summary>
    private static void RefuseRestart(DownloadLedger ledger, string what)
    {
        if (ledger.AnyHandedOut)
        {
            throw new Retries.NonRetryableException(
                $"the feed {what} while chunks of the bytes downloaded so far were being applied; starting over would rewrite those bytes under them, so this sync stops here (its applied records stay). Start a new sync");
        }

        if (ledger.AnyAppliedWithoutChecksum)
        {
            throw new Retries.NonRetryableException(
                $"the feed {what} after chunks of this sync were applied by an earlier version of Baton, which did not keep their checksums to compare a new download with; this sync stops here (its applied records stay). Start a new sync");
        }
    }

    /// <summary>
    /// The feed changed since the partial download began: with chunks of it handed out, the sync cannot go on
    /// (<see cref="FeedChangedException"/>); otherwise the partial file is discarded and the next attempt starts over.
    /// Returns the error to throw.
    /// </summary>
    private async Task<Exception> DiscardPartialAsync(DownloadLedger ledger, string blob, long have, string what, CancellationToken cancellationToken)
    {
        if (ledger.AnyHandedOut)
        {
            return new FeedChangedException(
                $"the feed changed while this sync downloaded it: resuming at byte {have}, it {what}. Chunks of the bytes downloaded before are being applied, so this sync stops here (its applied records stay); start a new sync");
        }

        RefuseRestart(ledger, $"changed since the download broke off (resuming at byte {have}, it {what})");

        await blobs.DeletePartialAsync(blob, cancellationToken).ConfigureAwait(false);
        return new FeedException($"the feed changed since the download broke off: resuming at byte {have}, it {what}; the partial download was discarded and the next attempt starts over");
    }

    /// <summary>
    /// Reads <paramref name="count"/> bytes from the feed and compares them with the partial file's bytes from
    /// <paramref name="offset"/>, a block at a time (the whole partial file, for a feed without a strong ETag).
    /// </summary>
    private async Task<bool> SameBytesAsync(Stream source, string blob, long offset, long count, CancellationToken cancellationToken)
    {
        var size = (int)Math.Min(count, 1 << 20);
        var received = new byte[size];
        var stored = new byte[size];
        await using var partial = await blobs.OpenReadAsync(blob, offset, count, cancellationToken).ConfigureAwait(false);
        for (long compared = 0; compared < count;)
        {
            var block = (int)Math.Min(size, count - compared);
            try
            {
                await source.ReadExactlyAsync(received.AsMemory(0, block), cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                // The feed ended before the bytes asked for again: it is not the download that broke off.
                return false;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                throw new FeedException($"the feed stream broke while resuming at byte {offset + count}, after {compared} of the {count} bytes asked for again were compared ({WithCause(ex)}); the bytes received before are kept", ex);
            }

            await partial.ReadExactlyAsync(stored.AsMemory(0, block), cancellationToken).ConfigureAwait(false);
            if (!received.AsSpan(0, block).SequenceEqual(stored.AsSpan(0, block)))
            {
                return false;
            }

            compared += block;
        }

        return true;
    }

    /// <summary>Hashes and cuts a committed file in one pass.</summary>
    private async Task<FeedFile> IndexAsync(
        string runId, string blob, long length, int requests, bool resumed, int chunkSize, DownloadLedger ledger, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var cutter = new ChunkCutter(chunkSize);
        await using (var stream = await blobs.OpenReadAsync(blob, 0, null, cancellationToken).ConfigureAwait(false))
        {
            var buffer = new byte[1 << 20];
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                cutter.Append(buffer.AsSpan(0, read));
            }
        }

        cutter.Finish();
        if (cutter.Position != length)
        {
            throw new FeedException($"the stored feed file {blob} has {cutter.Position} bytes, not the {length} downloaded; the next attempt downloads it again");
        }

        TakeChunks(ledger, cutter.Chunks, 0, onChunk: null);
        ledger.CheckEnd(cutter.Chunks.Count);

        var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
        Log.FetchDone(logger, runId, length, sha);
        return new FeedFile(blob, length, sha, requests, resumed, cutter.Lines, [.. cutter.Chunks]);
    }

    /// <summary>The exception's message, followed by its innermost cause's when that says something else.</summary>
    private static string WithCause(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is { } next)
        {
            inner = next;
        }

        return ReferenceEquals(inner, ex) || inner.Message == ex.Message ? ex.Message : $"{ex.Message} {inner.Message}";
    }
}
