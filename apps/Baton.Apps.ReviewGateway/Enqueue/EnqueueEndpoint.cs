using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;
using Baton.Apps.ReviewGateway.Forwarding;
using Baton.Runs;
using Baton.Server.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Apps.ReviewGateway.Enqueue;

/// <summary>
/// <c>POST /enqueue</c>: checks the body, then stores a forwarding run keyed by the job id and answers
/// 202 once it is stored. While a run for the same job id is active (pending, waiting for a retry or
/// forwarding), the start is refused by the concurrency key and the existing run is answered instead:
/// same job id, nothing new stored. Once that run has finished, the same placeId starts a new forward.
/// A store that has not answered within <c>Baton:RequestTimeout</c> (10 s) gets the client a 503 with <c>Retry-After</c>,
/// in the seed's error shape, instead of a request held for as long as the store hangs.
/// </summary>
internal sealed class EnqueueEndpoint(IBatonClient baton, TimeProvider time, IOptions<StoreTimeoutOptions> storeTimeout, ILogger<EnqueueEndpoint> logger)
{
    private readonly TimeSpan _storeTimeout = storeTimeout.Value.Timeout;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (!IsJson(request.ContentType))
        {
            await RejectAsync(context, "Content-Type must be application/json").ConfigureAwait(false);
            return;
        }

        if (request.ContentLength > EnqueueRequestReader.MaxBodyBytes)
        {
            await RejectTooLargeAsync(context).ConfigureAwait(false);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(EnqueueRequestReader.MaxBodyBytes + 1);
        string? placeId;
        string? error;
        try
        {
            int length;
            try
            {
                length = await ReadBodyAsync(request.Body, buffer, context.RequestAborted).ConfigureAwait(false);
            }
            catch (BadHttpRequestException ex)
            {
                // A chunked body has no length up front: Kestrel counts the bytes it has parsed, which can run
                // ahead of this read, and may trip its own (larger) limit first. Either way the seed's answer is 400.
                if (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    await RejectTooLargeAsync(context).ConfigureAwait(false);
                }
                else
                {
                    await RejectAsync(context, $"request body could not be read: {ex.Message}").ConfigureAwait(false);
                }

                return;
            }

            if (length > EnqueueRequestReader.MaxBodyBytes)
            {
                await RejectTooLargeAsync(context).ConfigureAwait(false);
                return;
            }

            placeId = EnqueueRequestReader.Read(buffer.AsSpan(0, length), out error);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (placeId is null)
        {
            await RejectAsync(context, error!).ConfigureAwait(false);
            return;
        }

        var job = new ForwardJob(placeId, ForwardJob.JobIdFor(placeId));
        StartRunResult result;
        Task<StartRunResult>? starting = null;
        try
        {
            starting = baton.StartRunAsync(
                new StartRunRequest
                {
                    Workflow = ForwardJobWorkflow.Name,
                    Input = JsonSerializer.SerializeToElement(job, GatewayJson.Default.ForwardJob),
                    ConcurrencyKey = job.JobId,
                    CorrelationId = RequestCorrelation.Get(context),
                },
                context.RequestAborted);
            // The time limit's timer only for a start still waiting (every start waits for its commit).
            result = starting.IsCompleted
                ? await starting.ConfigureAwait(false)
                : await starting.WaitAsync(_storeTimeout, time, context.RequestAborted).ConfigureAwait(false);
        }
        catch (TimeoutException) when (starting is { IsFaulted: false })
        {
            // The time limit (a start that failed with a TimeoutException of its own is faulted, and handled below). The start
            // goes on and may still be stored: a repeat finds it by the job id while it is active, and the worker
            // drops a second delivery by Idempotency-Key. Its outcome is logged.
            _ = LogLateOutcomeAsync(starting, job.JobId);
            Log.StoreTimedOut(logger, job.JobId, _storeTimeout.TotalSeconds);
            context.Response.Headers.RetryAfter = "1";
            await GatewayResponses.WriteErrorAsync(
                context,
                StatusCodes.Status503ServiceUnavailable,
                $"the store did not answer within {_storeTimeout.TotalSeconds:0.###} s; try again (the job may still be stored: a repeat is safe)",
                time.GetUtcNow()).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            Log.StoreFailed(logger, ex, job.JobId);
            context.Response.Headers.RetryAfter = "1";
            await GatewayResponses.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "the job could not be stored; try again", time.GetUtcNow()).ConfigureAwait(false);
            return;
        }

        if (result.Outcome is not (StartRunOutcome.Created or StartRunOutcome.Conflict or StartRunOutcome.Existing) || result.Run is null)
        {
            Log.StoreRefused(logger, job.JobId, result.Error ?? result.Outcome.ToString());
            await GatewayResponses.WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "the job could not be stored", time.GetUtcNow()).ConfigureAwait(false);
            return;
        }

        var duplicate = result.Outcome != StartRunOutcome.Created;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            Log.Enqueued(logger, job.PlaceId, job.JobId, result.Run.Id, duplicate);
        }

        await GatewayResponses.WriteEnqueuedAsync(context, job.PlaceId, job.JobId, result.Run.Id, duplicate, time.GetUtcNow()).ConfigureAwait(false);
    }

    private async Task LogLateOutcomeAsync(Task<StartRunResult> starting, string jobId)
    {
        try
        {
            var late = await starting.ConfigureAwait(false);
            Log.StoredLate(logger, jobId, late.Run?.Id ?? "-", late.Outcome.ToString());
        }
        catch (Exception ex)
        {
            Log.StoreFailed(logger, ex, jobId);
        }
    }

    private async Task RejectAsync(HttpContext context, string error)
    {
        Log.ValidationFailed(logger, error);
        await GatewayResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, error, time.GetUtcNow()).ConfigureAwait(false);
    }

    /// <summary>Closes the connection after the answer, so the server does not read the rest of a large body to keep it open.</summary>
    private Task RejectTooLargeAsync(HttpContext context)
    {
        context.Response.Headers.Connection = "close";
        return RejectAsync(context, $"request body is larger than {EnqueueRequestReader.MaxBodyBytes} bytes");
    }

    /// <summary>The exact values clients send are matched without parsing; anything else is parsed as a media type.</summary>
    private static bool IsJson(string? contentType) =>
        contentType is not null
        && (contentType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || contentType.Equals("application/json; charset=utf-8", StringComparison.OrdinalIgnoreCase)
            || IsJsonMediaType(contentType));

    private static bool IsJsonMediaType(string contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && string.Equals(media.MediaType, "application/json", StringComparison.OrdinalIgnoreCase)
        && (media.CharSet is null || string.Equals(media.CharSet.Trim('"'), "utf-8", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Reads the body into <paramref name="buffer"/> (one byte longer than the limit); a full buffer means the body is too large.
    /// A ValueTask: a body that has already arrived completes without a task per request.
    /// </summary>
    private static async ValueTask<int> ReadBodyAsync(Stream body, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        var limit = EnqueueRequestReader.MaxBodyBytes + 1;
        while (total < limit)
        {
            var read = await body.ReadAsync(buffer.AsMemory(total, limit - total), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
