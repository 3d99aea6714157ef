using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Server.Http;

/// <summary>How long a request to an endpoint with <see cref="StoreTimeoutEndpointExtensions.WithStoreTimeout"/> may wait for the store.</summary>
public sealed class StoreTimeoutOptions
{
    /// <summary>The default is 10 seconds (<c>BatonApiOptions.RequestTimeout</c> sets it).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Marks an endpoint with <see cref="StoreTimeoutEndpointExtensions.WithStoreTimeout"/>: one that reads or writes Baton's store,
/// whose store errors a retry can get past Baton answers <c>503 store-unavailable</c> as it does on its own routes.
/// </summary>
internal sealed class StoreTimeoutMetadata
{
    public static readonly StoreTimeoutMetadata Instance = new();
}

/// <summary>The time limit of endpoints that read or write Baton's store.</summary>
public static partial class StoreTimeoutEndpointExtensions
{
    /// <summary>What the API's 503 at the time limit says of a write sent just now.</summary>
    public const string ApiUnknownOutcome =
        "A start or an event sent just now may still be stored once the store answers: repeat it with the same Idempotency-Key, "
        + "which is safe, or look for it (GET /api/runs) before repeating one without";

    /// <summary>
    /// Bounds the time the endpoints' handlers take by <see cref="StoreTimeoutOptions.Timeout"/>: a handler that has not
    /// answered by then (a store that hangs) is answered <c>503 store-unavailable</c> with <c>Retry-After: 1</c>, and its
    /// token is cancelled. Only the handler is timed: a request body within the server's limit is read
    /// before the clock starts, and the response is written after it stops, so a slow client is never told the store failed.
    /// The API has it; an app's own routes that read or write the store take it too (the catalog sync's <c>/sync</c> and
    /// <c>/status</c>). A handler must not touch its <c>HttpContext</c> after its store calls: past the limit it goes on
    /// running after the 503 has been written. A store error a retry can get past (a dropped connection, a busy database) is
    /// answered <c>503 store-unavailable</c> on these endpoints too, as on Baton's own, when the app calls <c>UseExceptionHandler()</c>.
    /// </summary>
    /// <param name="builder">The endpoints.</param>
    /// <param name="unknownOutcome">
    /// What the problem's detail adds of a write that may still land once the store answers: how to repeat it safely. Given,
    /// it is added for every request to these endpoints (an app's <c>GET /sync</c> starts a sync); left out, the API's
    /// (<see cref="ApiUnknownOutcome"/>, the Idempotency-Key) is added for requests other than <c>GET</c> and <c>HEAD</c>.
    /// </param>
    public static TBuilder WithStoreTimeout<TBuilder>(this TBuilder builder, string? unknownOutcome = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithMetadata(StoreTimeoutMetadata.Instance);
        builder.AddEndpointFilter((context, next) => TimedAsync(context, next, unknownOutcome));
        return builder;
    }

    private static async ValueTask<object?> TimedAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, string? unknownOutcome)
    {
        var http = context.HttpContext;
        await ReadBodyFirstAsync(http).ConfigureAwait(false);
        var timeout = http.RequestServices.GetService<IOptions<StoreTimeoutOptions>>()?.Value.Timeout ?? TimeSpan.FromSeconds(10);
        var aborted = http.RequestAborted;
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timer.CancelAfter(timeout);
        // The handler's store calls take the request's token: cancelled at the limit, a write not yet sent is dropped.
        http.RequestAborted = timer.Token;
        try
        {
            // WaitAsync answers at the limit whatever the driver does: Npgsql does not heed a cancelled token against a
            // PostgreSQL that hangs (an open waits out its Timeout, 15 s; a cancelled command its cancel request, token +
            // 2 x Timeout: a GET answered after 60 s). The handler left behind ends when the driver gives up; its result is
            // never written.
            return await next(context).AsTask().WaitAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            var request = http.Request;
            TimedOut(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger<StoreTimeoutOptions>(), request.Method, request.Path, timeout.TotalSeconds);
            var detail = $"the store did not answer within {timeout.TotalSeconds:0.###} s; retry in a moment";
            return TypedResults.Problem(StoreUnavailableProblem.Prepare(
                http.Response,
                unknownOutcome is not null ? $"{detail}. {unknownOutcome}"
                    : HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) ? detail
                    : $"{detail}. {ApiUnknownOutcome}"));
        }
        finally
        {
            http.RequestAborted = aborted;
        }
    }

    /// <summary>
    /// Reads the request body into memory before the clock starts, so an upload slower than the limit (1 MB at 60 KB/s takes
    /// 17 s) is not answered as a store failure: one with a Content-Length within the server's limit, or one sent chunked (of
    /// unknown length). A body over the limit is left to the handler, which refuses it with its own 413: read from here, the
    /// server's refusal is kept and given to the handler's next read.
    /// </summary>
    private static async Task ReadBodyFirstAsync(HttpContext http)
    {
        var length = http.Request.ContentLength;
        var sizeFeature = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        var limit = sizeFeature?.MaxRequestBodySize;
        var chunked = length is null && http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true;
        if (!chunked && (length is not > 0 || length > limit))
        {
            return;
        }

        // A chunked body over the limit is kept to one byte over it and the rest is read and dropped here (up to
        // RequestBodies.DropLimit), so the handler answers 413 to a client that gets the answer. Before, the server refused it
        // mid-read at the limit and closed the connection with the rest unsent, and a client still sending lost the answer.
        var raw = http.Request.Body;
        if (chunked && limit is { } kept && kept < RequestBodies.DropLimit && sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = RequestBodies.DropLimit;
        }

        var threshold = (int)Math.Min(length ?? limit ?? 1024 * 1024, int.MaxValue);
        var bufferLimit = (limit ?? 1L << 30) + 1; // one over: the handler's own check refuses it
        http.Request.EnableBuffering(bufferThreshold: threshold, bufferLimit: bufferLimit);
        try
        {
            var chunk = new byte[16 * 1024];
            long total = 0;
            int read;
            while (total < bufferLimit
                && (read = await http.Request.Body.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, bufferLimit - total)), http.RequestAborted).ConfigureAwait(false)) > 0)
            {
                total += read;
            }

            if (total >= bufferLimit)
            {
                await RequestBodies.DropRestAsync(raw, http.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (BadHttpRequestException)
        {
            // Over even the drop limit (chunked): the handler's read meets the same refusal and answers it.
        }

        http.Request.Body.Position = 0;
    }

    [LoggerMessage(1103, LogLevel.Warning, "{Method} {Path} answered 503: no answer from the store within {TimeoutSeconds} s (its RequestTimeout)")]
    private static partial void TimedOut(ILogger logger, string method, PathString path, double timeoutSeconds);
}
