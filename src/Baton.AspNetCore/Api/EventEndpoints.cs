using Baton.Events;
using Baton.Runs;
using Baton.AspNetCore;

namespace Baton.Server.Api;

/// <summary>The answer to an event sent to a run.</summary>
/// <param name="Duplicate">True when the <c>Idempotency-Key</c> had already stored this event; nothing new was stored.</param>
public sealed record EventAcceptedView(string RunId, string Name, long Sequence, DateTimeOffset StoredAt, bool Duplicate);

/// <summary>
/// Sending external events to runs: <c>POST /api/runs/{id}/events/{name}</c>, the body the event's JSON payload (may be
/// empty). 202 means the event is stored; a repeated <c>Idempotency-Key</c> answers 202 with the event stored the first
/// time, or 409 when that event had another name. A finished run is 409, an unknown one 404; a bad name, key or body is
/// 400 and stores nothing.
/// </summary>
internal static class EventEndpoints
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGroup("/api").WithTags("Runs").MapPost("/runs/{id}/events/{name}", SendAsync)
            .WithName("SendEvent")
            .WithSummary("Stores an external event for a run; the body is the event's JSON payload")
            .WithJsonRequestBody()
            .Produces<EventAcceptedView>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
    }

    private static async Task<IResult> SendAsync(string id, string name, HttpContext context, IBatonClient client, BatonApiOptions options)
    {
        var cancellationToken = context.RequestAborted;
        if (!RunEndpoints.IsRunId(id))
        {
            return Problems.NotFound("run", $"'{(id.Length <= 64 ? id : id[..64] + "…")}' is not a run id (run ids are 32 lower-case hexadecimal characters)");
        }

        if (EventNames.Validate(name) is { } invalidName)
        {
            return Problems.InvalidInput(invalidName);
        }

        var idempotencyKey = context.Request.Headers[RunEndpoints.IdempotencyHeader].ToString();
        if (idempotencyKey.Length > EventNames.MaxIdempotencyKeyLength || idempotencyKey.Any(char.IsControl))
        {
            return Problems.InvalidInput($"the {RunEndpoints.IdempotencyHeader} header must be 1-{EventNames.MaxIdempotencyKeyLength} characters without control characters");
        }

        var limit = Math.Min(options.MaxRequestBodyBytes, EventNames.MaxPayloadLength);
        var (document, problem) = await JsonBody.ReadAsync(
            context, limit, allowEmpty: true, cancellationToken, limit < options.MaxRequestBodyBytes ? "an event's payload limit" : "Baton:MaxRequestBodyBytes");
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var result = await client.SendEventAsync(id, name, document?.RootElement, idempotencyKey.Length == 0 ? null : idempotencyKey, cancellationToken);
            return result.Outcome switch
            {
                EventSendOutcome.Stored or EventSendOutcome.Existing => TypedResults.Accepted(
                    ApiMapping.LinksFor(context.Request.PathBase, id).Self,
                    new EventAcceptedView(id, name, result.Event!.Sequence, result.Event.StoredAt, result.Outcome == EventSendOutcome.Existing)),
                EventSendOutcome.RunNotFound => Problems.NotFound("run", $"no run with id {id}"),
                EventSendOutcome.KeyUsedForAnotherEvent => Problems.Conflict(
                    "idempotency-key-reused", "The Idempotency-Key was used for another event", result.Error!),
                EventSendOutcome.RunFinished => Problems.Conflict(
                    "run-finished", "The run has already finished", result.Error ?? $"run {id} has finished; it takes no more events"),
                _ => Problems.InvalidInput(result.Error ?? "the event was rejected"),
            };
        }
    }
}
