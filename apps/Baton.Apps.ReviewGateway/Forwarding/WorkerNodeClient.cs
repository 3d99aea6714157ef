using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Baton.Retries;

namespace Baton.Apps.ReviewGateway.Forwarding;

/// <summary>The worker node refused the job for now (5xx, 408, 429): the attempt is retried.</summary>
public sealed class WorkerUnavailableException(string message) : Exception(message);

/// <summary>The worker node refused the job for now and said when to come back (429 or 503 with <c>Retry-After</c>).</summary>
public sealed class WorkerAskedToWaitException(string message, TimeSpan retryAfter) : RetryAfterException(message, retryAfter);

/// <summary>
/// Sends one job to <c>{WORKER_NODE_URL}/enqueue</c> as <c>{"placeId"}</c> with the job id in
/// <c>Idempotency-Key</c>, so the worker can drop the duplicates that at-least-once delivery makes, and
/// the correlation id of the request that enqueued it in <c>X-Correlation-ID</c>, so the worker's logs
/// can be joined with the gateway's; the user info of <c>WORKER_NODE_URL</c>, if any, as Basic authorization.
/// </summary>
internal sealed class WorkerNodeClient : IDisposable
{
    public const string IdempotencyHeader = "Idempotency-Key";
    public const string CorrelationHeader = "X-Correlation-ID";
    private const int MaxErrorBodyChars = 200;

    /// <summary>Redirects followed for one forward: Go's http.Client stops after 10.</summary>
    private const int MaxRedirects = 10;

    // Enough for MaxErrorBodyChars of any UTF-8 text (at most 4 bytes a character).
    private const int MaxErrorBodyBytes = 4 * MaxErrorBodyChars;
    private const string JsonContentType = "application/json; charset=utf-8";

    private static readonly SearchValues<char> PlainIdChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    // An invoker, not an HttpClient: HttpClient adds a linked token source per request (for its Timeout and
    // CancelPendingRequests, neither used here) and one more async frame; the handler chain (connection pool,
    // diagnostics, the http.client.* metrics) is the same.
    private readonly HttpMessageInvoker _http;
    private readonly Uri _enqueueUri;
    private readonly string? _authorization;
    private readonly SemaphoreSlim _connections;

    private readonly TimeProvider _time;

    public WorkerNodeClient(GatewayOptions options, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            UseCookies = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = options.MaxConnections,
        };
        // The per-attempt timeout of the step cancels the call; no second timeout here.
        _http = new HttpMessageInvoker(handler, disposeHandler: true);
        _connections = new SemaphoreSlim(options.MaxConnections, options.MaxConnections);
        _enqueueUri = EnqueueUriOf(options.WorkerUrl);
        _authorization = BasicAuthorizationOf(options.WorkerUrl);
    }

    public Uri EnqueueUri => _enqueueUri;

    /// <summary>Where jobs go: <c>{WORKER_NODE_URL}/enqueue</c>, as the seed builds it.</summary>
    internal static Uri EnqueueUriOf(Uri workerUrl) => new(workerUrl.AbsoluteUri.TrimEnd('/') + "/enqueue");

    /// <summary>
    /// Waits for one of the <see cref="GatewayOptions.MaxConnections"/> connections to the worker (dispose the slot after
    /// the call). A forward's attempt time starts once it holds one: queued inside the handler's pool instead, a forward
    /// behind 32 busy connections ran out its 10 s without the worker being asked (a worker answering in 2 s under a
    /// backlog got each job 2.5 times, and the runs said "no answer within 10 s").
    /// </summary>
    public async ValueTask<ConnectionSlot> WaitForConnectionAsync(CancellationToken cancellationToken)
    {
        await _connections.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new ConnectionSlot(_connections);
    }

    /// <summary>One connection's turn; disposing it gives the turn to the next forward.</summary>
    public readonly struct ConnectionSlot(SemaphoreSlim connections) : IDisposable
    {
        public void Dispose() => connections.Release();
    }

    /// <summary>
    /// Forwards the job; returns the worker's 2xx status. A 307 or 308 with a <c>Location</c> is followed with the same POST,
    /// up to <see cref="MaxRedirects"/> times, as the seed's Go client follows it (only the answer says so: a 2xx costs nothing
    /// more); the Basic authorization goes along only to the worker URL's own scheme, host and port. A 4xx other than 408 and
    /// 429 throws <see cref="NonRetryableException"/> (the job is wrong, not the worker's state); 5xx, 408, 429 and other 3xx
    /// throw <see cref="WorkerUnavailableException"/>; connection errors throw <see cref="HttpRequestException"/>.
    /// </summary>
    public async Task<int> EnqueueAsync(ForwardJob job, string? correlationId, CancellationToken cancellationToken = default)
    {
        var target = _enqueueUri;
        for (var redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, target);
            request.Content = new ByteArrayContent(BodyOf(job.PlaceId));
            request.Content.Headers.TryAddWithoutValidation("Content-Type", JsonContentType);
            request.Headers.TryAddWithoutValidation(IdempotencyHeader, job.JobId);
            if (_authorization is not null && (redirects == 0 || SameOrigin(target, _enqueueUri)))
            {
                request.Headers.TryAddWithoutValidation("Authorization", _authorization);
            }

            if (correlationId is not null)
            {
                request.Headers.TryAddWithoutValidation(CorrelationHeader, correlationId);
            }

            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return (int)response.StatusCode;
            }

            if (response.StatusCode is HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect
                && redirects < MaxRedirects
                && response.Headers.Location is { } location
                && Uri.TryCreate(target, location, out var next)
                && next.Scheme is "http" or "https")
            {
                target = next;
                continue;
            }

            throw await FailureOfAsync(response, job, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    /// <summary>The exception that says what a worker's answer other than 2xx means for the job.</summary>
    private async Task<Exception> FailureOfAsync(HttpResponseMessage response, ForwardJob job, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var body = await ReadSnippetAsync(response, cancellationToken).ConfigureAwait(false);
        var message = $"worker node answered {status} {response.ReasonPhrase} for job {job.JobId}{(body.Length > 0 ? ": " + body : "")}";
        if (status is >= 300 and < 400)
        {
            // A redirect not followed (301, 302, 303 turn the POST into a GET, which delivers no job; a 307 or 308 past the
            // limit or without a usable Location): waiting does not change it, the URL does. Before: retried for an hour.
            return new NonRetryableException(
                $"{message}; only a 307 or 308 with a Location is followed, with the same POST, up to {MaxRedirects} times: set WORKER_NODE_URL to where the worker node answers"
                + (response.Headers.Location is { } location ? $" (this answer pointed to {Baton.Diagnostics.UrlText.WithoutPassword(location)})" : ""));
        }

        if (status is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests))
        {
            return new NonRetryableException(message);
        }

        if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable && Baton.Server.Http.RetryAfterHeader.WaitOf(response, _time) is { } wait)
        {
            // The worker said when to come back: the next attempt waits at least that long (up to the retry policy's
            // MaxDelay). Before: retried on the policy's own backoff, 0.9 s after a "Retry-After: 30".
            return new WorkerAskedToWaitException($"{message}; it asked to retry after {wait.TotalSeconds:0.###} s", wait);
        }

        return new WorkerUnavailableException(message);
    }

    /// <summary>
    /// <c>Basic base64(user:password)</c> of the user info of <paramref name="workerUrl"/> (unescaped; a user without a password
    /// is <c>user:</c>), null without user info: the seed's Go client (net/http) sends a URL's user info so, and .NET's handler
    /// sends nothing for it.
    /// </summary>
    internal static string? BasicAuthorizationOf(Uri workerUrl)
    {
        var userInfo = workerUrl.UserInfo;
        if (userInfo.Length == 0)
        {
            return null;
        }

        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        var user = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
        var password = colon < 0 ? "" : Uri.UnescapeDataString(userInfo[(colon + 1)..]);
        return "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));
    }

    /// <summary>
    /// <c>{"placeId":"..."}</c> in UTF-8. An id of the enqueue endpoint's charset (letters, digits, '-', '_') needs no
    /// escaping and is copied straight into one array; anything else (a run stored by an older build) goes through the serializer.
    /// </summary>
    internal static byte[] BodyOf(string placeId)
    {
        if (placeId.AsSpan().ContainsAnyExcept(PlainIdChars))
        {
            return JsonSerializer.SerializeToUtf8Bytes(new WorkerEnqueueBody(placeId), GatewayJson.Default.WorkerEnqueueBody);
        }

        var body = new byte[BodyPrefix.Length + placeId.Length + BodySuffix.Length];
        BodyPrefix.CopyTo(body);
        Encoding.ASCII.GetBytes(placeId, body.AsSpan(BodyPrefix.Length));
        BodySuffix.CopyTo(body.AsSpan(BodyPrefix.Length + placeId.Length));
        return body;
    }

    private static ReadOnlySpan<byte> BodyPrefix => "{\"placeId\":\""u8;

    private static ReadOnlySpan<byte> BodySuffix => "\"}"u8;

    /// <summary>
    /// The start of an error answer's body, for the attempt's message: at most <see cref="MaxErrorBodyBytes"/> bytes read
    /// as UTF-8 (JSON's encoding), cut to <see cref="MaxErrorBodyChars"/> characters. The status decides what the attempt
    /// is and the body is only detail, so neither its size nor its pace may change that: a larger body is not read further
    /// (disposing the answer closes the connection), and one that stops coming is left at what arrived once the attempt's
    /// time runs out. Before, the body was read whole: a 64 MB error page cost each attempt a 64 MB buffer and a 128 MB
    /// string, and a 422 whose body never ended became "no answer within 10 s", retried.
    /// </summary>
    private static async Task<string> ReadSnippetAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxErrorBodyBytes];
        var length = 0;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            int read;
            while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // Cut off (the connection ended, or the attempt's time ran out): what arrived is the snippet.
        }

        var text = Encoding.UTF8.GetString(buffer, 0, length);
        if (text.Length <= MaxErrorBodyChars)
        {
            return text;
        }

        // Not between the two halves of a surrogate pair: the message is stored and shown as JSON.
        var cut = char.IsHighSurrogate(text[MaxErrorBodyChars - 1]) ? MaxErrorBodyChars - 1 : MaxErrorBodyChars;
        return text[..cut] + "...";
    }

    public void Dispose()
    {
        _http.Dispose();
        _connections.Dispose();
    }
}
