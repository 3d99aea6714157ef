using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Baton.Client;

/// <summary>
/// Typed client of Baton's HTTP API, with the verbs of the in-process <c>IBatonClient</c>: start, get, list, cancel,
/// retry, wait, events, plus schedules, workflows and nodes. Every refusal (problem details, a refused key) is a
/// <see cref="BatonApiException"/>; a server that cannot be reached is the <see cref="HttpRequestException"/> of
/// <see cref="HttpClient"/>. Reads of something that does not exist return null instead of throwing.
/// </summary>
public sealed partial class BatonApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly TimeSpan _pollInterval;
    private readonly TimeProvider _time;

    /// <summary>A client over <paramref name="http"/>, whose base address and handlers (e.g. <see cref="AdminKeyHandler"/>) are already set.</summary>
    public BatonApiClient(HttpClient http)
        : this(http, Options.Create(new BatonClientOptions()))
    {
    }

    /// <summary>The constructor <c>AddBatonClient</c> uses.</summary>
    [ActivatorUtilitiesConstructor]
    public BatonApiClient(HttpClient http, IOptions<BatonClientOptions> options)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _pollInterval = options.Value.PollInterval > TimeSpan.Zero ? options.Value.PollInterval : TimeSpan.FromMilliseconds(500);
        _time = options.Value.TimeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// A client without dependency injection: its own <see cref="HttpClient"/> over <paramref name="innerHandler"/>
    /// (default a new <see cref="SocketsHttpHandler"/> that follows no redirect), the key added by an <see cref="AdminKeyHandler"/>.
    /// Dispose the client when done: that closes its <see cref="HttpClient"/> and the default handler's connections (a
    /// handler passed in is left open, for its owner to dispose).
    /// A handler of your own should not follow redirects either: the key is added before it, and would go wherever they point.
    /// </summary>
    public static BatonApiClient Create(Uri baseAddress, string? adminKey, HttpMessageHandler? innerHandler = null, TimeSpan? timeout = null)
    {
        var handler = new AdminKeyHandler(adminKey) { InnerHandler = innerHandler ?? NoRedirects() };
        // A handler passed in stays its owner's (it may serve other clients); the default one closes with the client.
        var http = new HttpClient(handler, disposeHandler: innerHandler is null) { BaseAddress = AsDirectory(baseAddress), Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        return new BatonApiClient(http, Options.Create(new BatonClientOptions()), ownsHttp: true);
    }

    private BatonApiClient(HttpClient http, IOptions<BatonClientOptions> options, bool ownsHttp)
        : this(http, options)
    {
        _ownsHttp = ownsHttp;
    }

    /// <summary>
    /// Closes the <see cref="HttpClient"/> (and its connections) of a client made by <see cref="Create"/>; a client given
    /// its <see cref="HttpClient"/> (by you or by <c>AddBatonClient</c>) leaves it to its owner.
    /// </summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    /// <summary>
    /// <paramref name="baseAddress"/> with its path ending in '/': the API's paths are relative to it, and a relative path
    /// replaces a last segment without one, so <c>https://ops.example/baton</c> sent every request, key and all, to
    /// <c>https://ops.example/api/...</c>, outside the prefix the server is behind.
    /// </summary>
    internal static Uri AsDirectory(Uri baseAddress)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        return !baseAddress.IsAbsoluteUri || baseAddress.AbsolutePath.EndsWith('/')
            ? baseAddress
            : new UriBuilder(baseAddress) { Path = baseAddress.AbsolutePath + "/" }.Uri;
    }

    /// <summary>
    /// The handler the client uses unless given one: a <see cref="SocketsHttpHandler"/> that follows no redirect. .NET keeps
    /// custom headers when it follows one, so the admin key would be sent to whatever host a redirect names; a redirect is
    /// an error instead, which names where it pointed. Its connections are renewed every <see cref="ConnectionLifetime"/>, so
    /// a client kept for the life of a process (<see cref="Create"/>, or the typed client taken into a singleton) follows a
    /// DNS change of the server's name; without it, a pooled connection lived as long as it was used.
    /// </summary>
    public static SocketsHttpHandler NoRedirects() => new() { AllowAutoRedirect = false, PooledConnectionLifetime = ConnectionLifetime };

    /// <summary>How long <see cref="NoRedirects"/> keeps a connection: IHttpClientFactory's own handler lifetime.</summary>
    public static readonly TimeSpan ConnectionLifetime = TimeSpan.FromMinutes(2);

    /// <summary>The server this client talks to.</summary>
    public Uri? BaseAddress => _http.BaseAddress;

    /// <summary>
    /// Starts a run of <paramref name="workflow"/> with <paramref name="input"/> serialized as its JSON body
    /// (<c>POST /api/workflows/{name}/runs</c>). With an <paramref name="idempotencyKey"/> that already names a run, that
    /// run is returned with <see cref="StartedRun.Created"/> false. A concurrency conflict is a 409
    /// <see cref="BatonApiException"/> whose <c>activeRun</c> extension is the run holding the key.
    /// </summary>
    public Task<StartedRun> StartAsync<TInput>(string workflow, TInput input, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        StartCoreAsync(workflow, ApiTransport.JsonBody(input), idempotencyKey, cancellationToken);

    /// <summary>Starts a run without input (an empty body).</summary>
    public Task<StartedRun> StartAsync(string workflow, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        StartCoreAsync(workflow, null, idempotencyKey, cancellationToken);

    /// <summary>The run with its steps, attempts, events and children, or null when no run has that id.</summary>
    public async Task<RunView?> GetAsync(string runId, CancellationToken cancellationToken = default)
    {
        return await GetOrNullAsync<RunView>($"api/runs/{ApiTransport.Segment(runId, "run")}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The run as in the list (<c>GET /api/runs/{id}/summary</c>): status, phase, progress and times, without its steps,
    /// or null when no run has that id. Poll this, not <see cref="GetAsync"/>, while a run moves: its details grow with
    /// its steps (tens of megabytes for a run of 50,000).
    /// </summary>
    public async Task<RunSummary?> GetSummaryAsync(string runId, CancellationToken cancellationToken = default)
    {
        return await GetOrNullAsync<RunSummary>($"api/runs/{ApiTransport.Segment(runId, "run")}/summary", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One page of runs, newest first (<c>GET /api/runs</c>); pass <see cref="RunListView.NextCursor"/> back as <see cref="RunQuery.Cursor"/>.</summary>
    public async Task<RunListView> ListAsync(RunQuery? query = null, CancellationToken cancellationToken = default)
    {
        using var request = ApiTransport.Request(HttpMethod.Get, "api/runs" + QueryString(query ?? new RunQuery()));
        var response = await ApiTransport.SendAsync(_http, request, cancellationToken).ConfigureAwait(false);
        return await ApiTransport.ReadAsync<RunListView>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every run matching <paramref name="query"/>, newest first, reading one page at a time as the caller moves on.</summary>
    public async IAsyncEnumerable<RunSummary> ListAllAsync(RunQuery? query = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var next = query ?? new RunQuery();
        while (true)
        {
            var page = await ListAsync(next, cancellationToken).ConfigureAwait(false);
            foreach (var run in page.Runs)
            {
                yield return run;
            }

            if (page.NextCursor is null)
            {
                yield break;
            }

            next = next with { Cursor = page.NextCursor };
        }
    }

    /// <summary>
    /// Cancels a run: <c>cancelled</c> at once when it is not executing, otherwise <c>cancel_requested</c>.
    /// A finished run is a 409 <see cref="BatonApiException"/>, an unknown one a 404.
    /// </summary>
    public Task<RunActionView> CancelAsync(string runId, CancellationToken cancellationToken = default) =>
        PostActionAsync(runId, "cancel", cancellationToken);

    /// <summary>Makes a failed or cancelled run runnable again; a run that cannot be retried is a 409 <see cref="BatonApiException"/>.</summary>
    public Task<RunActionView> RetryAsync(string runId, CancellationToken cancellationToken = default) =>
        PostActionAsync(runId, "retry", cancellationToken);

    /// <summary>
    /// Reads the run every <see cref="BatonClientOptions.PollInterval"/> until it has finished and returns it as it ended
    /// (whatever the outcome); a read answered <c>503 store-unavailable</c> is read again, for up to a minute of such answers.
    /// <paramref name="onUpdate"/> sees every read, with its steps; without one, the run's summary
    /// is polled and its details read once at the end (see <see cref="WatchAsync"/>).
    /// A run that does not exist is a 404 <see cref="BatonApiException"/>.
    /// </summary>
    public async Task<RunView> WaitAsync(string runId, Action<RunView>? onUpdate = null, CancellationToken cancellationToken = default)
    {
        if (onUpdate is null)
        {
            return await WatchAsync(runId, null, cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            var run = await ReadThroughStoreOutageAsync(ct => GetAsync(runId, ct), cancellationToken).ConfigureAwait(false) ?? throw RunNotFound(runId);
            onUpdate?.Invoke(run);
            if (run.IsFinished)
            {
                return run;
            }

            await Task.Delay(_pollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Polls the run's summary every <see cref="BatonClientOptions.PollInterval"/> until it has finished (<paramref name="onProgress"/>
    /// sees every read, for progress displays), then reads its details once and returns them. A run that does not exist is a
    /// 404 <see cref="BatonApiException"/>.
    /// </summary>
    public async Task<RunView> WatchAsync(string runId, Action<RunSummary>? onProgress, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            RunSummary summary;
            try
            {
                summary = await ReadThroughStoreOutageAsync(ct => GetSummaryAsync(runId, ct), cancellationToken).ConfigureAwait(false) ?? throw RunNotFound(runId);
            }
            catch (BatonApiException ex) when (IsNoSuchRoute(ex))
            {
                // A server older than GET /api/runs/{id}/summary: its whole run is read instead, as this client did before.
                return await WaitAsync(runId, run => onProgress?.Invoke(ToSummary(run)), cancellationToken).ConfigureAwait(false);
            }

            onProgress?.Invoke(summary);
            if (summary.IsFinished)
            {
                return await ReadThroughStoreOutageAsync(ct => GetAsync(runId, ct), cancellationToken).ConfigureAwait(false) ?? throw RunNotFound(runId);
            }

            await Task.Delay(_pollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>How long <see cref="WaitAsync"/> and <see cref="WatchAsync"/> keep reading a run through one store outage.</summary>
    private static readonly TimeSpan StoreOutageTolerance = TimeSpan.FromMinutes(1);

    /// <summary>
    /// <paramref name="read"/>, read again every poll interval while the server answers <c>503 urn:baton:problem:store-unavailable</c>
    /// (a dropped database connection, a failover: the problem says to retry, and a read is safe to repeat), for at most
    /// <see cref="StoreOutageTolerance"/>; then that 503 is thrown.
    /// </summary>
    private async Task<T> ReadThroughStoreOutageAsync<T>(Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        DateTimeOffset? since = null;
        while (true)
        {
            try
            {
                return await read(cancellationToken).ConfigureAwait(false);
            }
            catch (BatonApiException ex) when (ex.Status == HttpStatusCode.ServiceUnavailable && ex.Type == "urn:baton:problem:store-unavailable"
                                               && _time.GetUtcNow() - (since ??= _time.GetUtcNow()) < StoreOutageTolerance)
            {
                // Read again after the poll interval.
            }

            await Task.Delay(_pollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The server's 404 for a path no route matches (<c>urn:baton:problem:not-found</c>), not for a run it does not have.</summary>
    private static bool IsNoSuchRoute(BatonApiException ex) =>
        ex.Status == HttpStatusCode.NotFound && ex.Type == "urn:baton:problem:not-found";

    private static RunSummary ToSummary(RunView run) =>
        new(run.Id, run.Workflow, run.Status, run.Phase, run.Progress, run.CreatedAt, run.StartedAt, run.CompletedAt, run.ScheduleName, run.Links)
        {
            WorkflowVersion = run.WorkflowVersion,
            UpdatedAt = run.UpdatedAt,
        };

    private static BatonApiException RunNotFound(string runId) =>
        new(HttpStatusCode.NotFound, "No such run", $"no run with id {runId}", "urn:baton:problem:run-not-found");

    /// <summary>
    /// Waits for the run to finish and returns its output as <typeparamref name="TOutput"/>; a run that did not succeed
    /// is a <see cref="BatonRunFailedException"/> holding the run.
    /// </summary>
    public async Task<TOutput?> GetResultAsync<TOutput>(string runId, CancellationToken cancellationToken = default)
    {
        var run = await WaitAsync(runId, null, cancellationToken).ConfigureAwait(false);
        if (run.Status != RunStatuses.Succeeded)
        {
            throw new BatonRunFailedException(run);
        }

        return run.Output is { } output ? output.Deserialize<TOutput>(ApiTransport.Json) : default;
    }

    /// <summary>
    /// Stores an event named <paramref name="name"/> for the run with <paramref name="payload"/> as its JSON body
    /// (<c>POST /api/runs/{id}/events/{name}</c>). A repeated <paramref name="idempotencyKey"/> returns the event stored the
    /// first time with <see cref="EventAcceptedView.Duplicate"/> true. A finished run is a 409, an unknown one a 404.
    /// </summary>
    public async Task<EventAcceptedView> SendEventAsync<TPayload>(
        string runId, string name, TPayload payload, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        using var request = ApiTransport.Request(
            HttpMethod.Post, $"api/runs/{ApiTransport.Segment(runId, "run")}/events/{ApiTransport.Segment(name, "event")}", null, idempotencyKey);
        request.Content = payload is null ? null : ApiTransport.JsonBody(payload);
        var response = await ApiTransport.SendAsync(_http, request, cancellationToken).ConfigureAwait(false);
        return await ApiTransport.ReadAsync<EventAcceptedView>(response, cancellationToken).ConfigureAwait(false);
    }

    private async Task<StartedRun> StartCoreAsync(string workflow, HttpContent? body, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var request = ApiTransport.Request(HttpMethod.Post, $"api/workflows/{ApiTransport.Segment(workflow, "workflow")}/runs", null, idempotencyKey);
        request.Content = body;
        var response = await ApiTransport.SendAsync(_http, request, cancellationToken).ConfigureAwait(false);
        var created = response.StatusCode == HttpStatusCode.Accepted;
        return new StartedRun(await ApiTransport.ReadAsync<RunSummary>(response, cancellationToken).ConfigureAwait(false), created);
    }

    private async Task<RunActionView> PostActionAsync(string runId, string action, CancellationToken cancellationToken)
    {
        using var request = ApiTransport.Request(HttpMethod.Post, $"api/runs/{ApiTransport.Segment(runId, "run")}/{action}");
        var response = await ApiTransport.SendAsync(_http, request, cancellationToken).ConfigureAwait(false);
        return await ApiTransport.ReadAsync<RunActionView>(response, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T?> GetOrNullAsync<T>(string path, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            using var request = ApiTransport.Request(HttpMethod.Get, path);
            var response = await ApiTransport.SendAsync(_http, request, cancellationToken).ConfigureAwait(false);
            return await ApiTransport.ReadAsync<T>(response, cancellationToken).ConfigureAwait(false);
        }
        catch (BatonApiException ex) when (ApiTransport.IsNotFound(ex))
        {
            return null;
        }
    }

    private static string QueryString(RunQuery query)
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (value is { Length: > 0 })
            {
                parts.Add($"{name}={Uri.EscapeDataString(value)}");
            }
        }

        Add("workflow", query.Workflow);
        Add("status", query.Status);
        Add("createdAfter", query.CreatedAfter?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        Add("createdBefore", query.CreatedBefore?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        Add("parentRunId", query.ParentRunId);
        Add("cursor", query.Cursor);
        Add("limit", query.Limit?.ToString(CultureInfo.InvariantCulture));
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }
}
