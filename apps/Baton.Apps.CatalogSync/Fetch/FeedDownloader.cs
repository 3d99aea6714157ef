using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Baton.Apps.CatalogSync.Blobs;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.CatalogSync.Fetch;

/// <summary>
/// Streams the feed into the blob store. A download that breaks leaves its partial blob; the next attempt
/// asks for the rest with <c>Range: bytes=N-</c> and appends when the feed answers 206, or starts over when it
/// answers 200. The blob is committed only when it has every byte the feed announced, and its SHA-256 is taken
/// from the committed bytes, so a partial file is never taken for a complete one.
/// </summary>
internal sealed class FeedDownloader(HttpClient http, IBlobStore blobs, Microsoft.Extensions.Options.IOptions<CatalogSyncOptions> options, ILogger<FeedDownloader> logger)
{
    private static readonly byte[] RequestBody = """{"filter":{"status":"active"},"sorting":{"createdAt":"ASC"}}"""u8.ToArray();

    public async Task<FeedFile> DownloadAsync(string runId, Action<long> onBytes, CancellationToken cancellationToken)
    {
        var blob = $"{runId}.ndjson";
        if (await blobs.GetLengthAsync(blob, cancellationToken).ConfigureAwait(false) is { } committed)
        {
            // An earlier attempt committed the file but did not live to record the step.
            onBytes(committed);
            return new FeedFile(blob, committed, await HashAsync(blob, cancellationToken).ConfigureAwait(false), 0, false);
        }

        var settings = options.Value;
        var have = await blobs.GetPartialLengthAsync(blob, cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.ApiUrl)
        {
            Content = new ByteArrayContent(RequestBody) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.ApiKeyId}:{settings.ApiKeySecret}")));
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have, null);
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new FeedException($"the feed could not be reached: {ex.Message}", ex);
        }

        using (response)
        {
            var resume = false;
            long? total;
            switch (response.StatusCode)
            {
                case HttpStatusCode.PartialContent when have > 0 && response.Content.Headers.ContentRange is { From: { } from, Length: var length } && from == have:
                    resume = true;
                    total = length;
                    break;
                case HttpStatusCode.OK:
                    total = response.Content.Headers.ContentLength;
                    break;
                case HttpStatusCode.RequestedRangeNotSatisfiable:
                    // The partial file does not fit the feed any more (it changed or is longer): start over next attempt.
                    await blobs.DeleteAsync(blob, cancellationToken).ConfigureAwait(false);
                    throw new FeedException("the feed refused the Range request (416); the partial download was discarded and the next attempt starts over");
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
            // A download from byte 0 is hashed as it streams; a resumed one is hashed from the file at the end.
            using var hash = resume ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
            await using (var target = await blobs.OpenPartialAsync(blob, restart: !resume, cancellationToken).ConfigureAwait(false))
            {
                var buffer = new byte[1 << 16];
                var first = !resume;
                try
                {
                    int read;
                    while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        if (first && buffer[0] == (byte)'<')
                        {
                            throw new FeedException("the feed answered an HTML/XML page instead of NDJSON");
                        }

                        first = false;
                        hash?.AppendData(buffer, 0, read);
                        await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        written += read;
                        onBytes(written);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException)
                {
                    await target.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    throw new FeedException($"the feed stream broke after {written} bytes{(total is { } t ? $" of {t}" : "")}; the next attempt resumes from there", ex);
                }

                await target.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (target is FileStream file)
                {
                    file.Flush(flushToDisk: true);
                }
            }

            if (total is { } expected && written != expected)
            {
                throw new FeedException($"the feed stream ended after {written} bytes of {expected}; the next attempt resumes from there");
            }

            await blobs.CommitAsync(blob, cancellationToken).ConfigureAwait(false);
            var sha = hash is null ? await HashAsync(blob, cancellationToken).ConfigureAwait(false) : Convert.ToHexStringLower(hash.GetHashAndReset());
            Log.FetchDone(logger, runId, written, sha);
            return new FeedFile(blob, written, sha, 1, resume);
        }
    }

    private async Task<string> HashAsync(string blob, CancellationToken cancellationToken)
    {
        await using var stream = await blobs.OpenReadAsync(blob, 0, null, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }
}
