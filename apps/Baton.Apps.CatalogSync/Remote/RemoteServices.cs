using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Baton.Retries;
using Microsoft.Extensions.Options;

namespace Baton.Apps.CatalogSync.Remote;

/// <summary>What one Maintainer call did: its counters and where the next call starts.</summary>
public sealed record RemoteChunkResult(long Offset, long NextOffset, bool HasMore, long Records, long Inserted, long Updated, long Skipped, long Failed);

/// <summary>
/// Calls the seed's Fetcher (<c>POST /run</c>) and Maintainer (<c>POST /run {"offset","limit"}</c> answering
/// <c>{"stats","nextOffset","hasMore"}</c>), both with <c>X-ADMIN-KEY</c>. A non-2xx answer throws (retried by the
/// step's policy); a 4xx other than 408/429 is not retried. Errors never carry the key.
/// </summary>
internal sealed class RemoteServices(HttpClient http, IOptions<CatalogSyncOptions> options)
{
    public async Task<string> FetchAsync(CancellationToken cancellationToken)
    {
        var remote = options.Value.Remote;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(remote.FetcherUrl!), "run"));
        request.Headers.Add("X-ADMIN-KEY", remote.AdminKey);
        using var response = await SendAsync(request, "Fetcher", cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return body.Length <= 2_000 ? body : body[..2_000];
    }

    public async Task<RemoteChunkResult> ProcessAsync(long offset, int limit, CancellationToken cancellationToken)
    {
        var remote = options.Value.Remote;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(remote.MaintainerUrl!), "run"))
        {
            Content = JsonContent.Create(new { offset, limit }),
        };
        request.Headers.Add("X-ADMIN-KEY", remote.AdminKey);
        using var response = await SendAsync(request, "Maintainer", cancellationToken).ConfigureAwait(false);
        var answer = await response.Content.ReadFromJsonAsync<MaintainerAnswer>(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("the Maintainer answered an empty body");
        var stats = answer.Stats ?? [];
        long Get(params string[] names) =>
            names.Select(n => stats.TryGetValue(n, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var x) ? x : (long?)null).FirstOrDefault(x => x is not null) ?? 0;
        var next = answer.NextOffset ?? offset + limit;
        if (answer.HasMore && next <= offset)
        {
            throw new NonRetryableException($"the Maintainer answered nextOffset {next} for offset {offset} with hasMore: the sync would not advance");
        }

        return new RemoteChunkResult(
            offset, next, answer.HasMore,
            Get("processed", "records", "total"), Get("inserted"), Get("updated"), Get("skipped"), Get("failed", "errors"));
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string service, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new HttpRequestException($"the {service} could not be reached at {Baton.Diagnostics.UrlText.Authority(request.RequestUri!)}: {ex.Message}", ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        var status = (int)response.StatusCode;
        response.Dispose();
        var message = $"the {service} answered {status} {response.ReasonPhrase}";
        throw status is >= 400 and < 500 and not 408 and not 429 ? new NonRetryableException(message) : new HttpRequestException(message);
    }

    private sealed record MaintainerAnswer(
        [property: JsonPropertyName("stats")] Dictionary<string, JsonElement>? Stats,
        [property: JsonPropertyName("nextOffset")] long? NextOffset,
        [property: JsonPropertyName("hasMore")] bool HasMore);
}
