using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Baton.Runs;
using Baton.AspNetCore;
using Baton.Server.Http;
using Baton.Server.Logging;
using Baton.Storage;
using Baton.Workflows;

namespace Baton.Server.Api;

/// <summary>The outcome of a cancel or retry, with the run as it is now.</summary>
/// <param name="Outcome"><c>cancelled</c>, <c>cancel_requested</c> or <c>retried</c>.</param>
public sealed record RunActionView(string Outcome, RunSummary Run);

/// <summary>
/// Starting, reading and controlling runs. Choices a client should know:
/// a start with an <c>Idempotency-Key</c> that already names a run answers 200 with that run (202 means
/// "this request created it"); a malformed run id answers 404 without touching the store.
/// </summary>
internal static partial class RunEndpoints
{
    public const string IdempotencyHeader = "Idempotency-Key";
    private const int MaxLimit = RunLimits.MaxPageSize;

    public static void Map(IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api").WithTags("Runs");
        api.MapPost("/workflows/{name}/runs", StartAsync)
            .WithName("StartRun")
            .WithSummary("Starts a run; the body is the workflow's input")
            .WithJsonRequestBody()
            .Produces<RunSummary>(StatusCodes.Status202Accepted)
            .Produces<RunSummary>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapGet("/runs", ListAsync)
            .WithName("ListRuns")
            .WithSummary("Runs newest first; filters workflow, status, parentRunId, createdAfter, createdBefore; paging with cursor and limit")
            .Produces<RunListView>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapGet("/runs/{id}", GetAsync)
            .WithName("GetRun")
            .WithSummary("One run with its input, output, failure, progress, steps and their attempts")
            .Produces<RunView>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/runs/{id}/summary", GetSummaryAsync)
            .WithName("GetRunSummary")
            .WithSummary("One run as in the list: status, phase, progress, times; without its steps, so it stays small to poll")
            .Produces<RunSummary>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/runs/{id}/cancel", CancelAsync)
            .WithName("CancelRun")
            .WithSummary("Cancels a run: at once if it is not running (200), else asks its worker to stop it (202)")
            .Produces<RunActionView>()
            .Produces<RunActionView>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/runs/{id}/retry", RetryAsync)
            .WithName("RetryRun")
            .WithSummary("Makes a failed or cancelled run runnable again; it resumes at the step that did not finish")
            .Produces<RunActionView>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static async Task<IResult> StartAsync(
        string name, HttpContext context, IBatonClient client, IWorkflowCatalog catalog, BatonApiOptions options, ILoggerFactory loggers)
    {
        var cancellationToken = context.RequestAborted;
        var pathBase = context.Request.PathBase;
        if (!catalog.TryGet(name, out _))
        {
            return Problems.NotFound("workflow", $"no workflow named '{name}' is registered; GET /api/workflows lists them");
        }

        var idempotencyKey = context.Request.Headers[IdempotencyHeader].ToString();
        if (idempotencyKey.Length > RunLimits.MaxIdempotencyKeyLength || idempotencyKey.Any(char.IsControl))
        {
            return Problems.InvalidInput($"the {IdempotencyHeader} header must be 1-{RunLimits.MaxIdempotencyKeyLength} characters without control characters");
        }

        var (document, problem) = await JsonBody.ReadAsync(context, options.MaxRequestBodyBytes, allowEmpty: true, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            var result = await client.StartRunAsync(
                new StartRunRequest
                {
                    Workflow = name,
                    Input = document?.RootElement,
                    IdempotencyKey = idempotencyKey.Length == 0 ? null : idempotencyKey,
                    CorrelationId = RequestCorrelation.Get(context),
                },
                cancellationToken);
            switch (result.Outcome)
            {
                case StartRunOutcome.Created:
                    Log.RunAccepted(loggers.CreateLogger("Baton.Server.Api"), result.Run!.Id, name);
                    return TypedResults.Accepted(ApiMapping.LinksFor(pathBase, result.Run.Id).Self, result.Run.ToSummary(pathBase));
                case StartRunOutcome.Existing:
                    return TypedResults.Ok(result.Run!.ToSummary(pathBase));
                case StartRunOutcome.Conflict:
                    return Problems.Conflict(
                        "concurrency-conflict",
                        "A run is already active",
                        $"run {result.Run!.Id} of '{result.Run.Workflow}' is {result.Run.Status.ToWireName()} and holds concurrency key '{result.Run.ConcurrencyKey}'",
                        new Dictionary<string, object?> { ["activeRun"] = result.Run.ToSummary(pathBase) });
                case StartRunOutcome.UnknownWorkflow:
                    return Problems.NotFound("workflow", result.Error ?? $"no workflow named '{name}' is registered");
                default:
                    return Problems.InvalidInput(result.Error ?? "the input does not fit the workflow");
            }
        }
    }

    private static async Task<IResult> ListAsync(HttpContext context, IBatonClient client)
    {
        var query = context.Request.Query;
        var request = new ListRunsRequest();
        if (query["workflow"].ToString() is { Length: > 0 } workflow)
        {
            if (workflow.Any(char.IsControl))
            {
                return Problems.InvalidQuery("workflow: a workflow name has no control characters (%00 and the like)");
            }

            request = request with { Workflow = workflow };
        }

        if (query["parentRunId"].ToString() is { Length: > 0 } parent)
        {
            if (!IsRunId(parent))
            {
                return Problems.InvalidQuery($"parentRunId '{Truncate(parent)}' is not a run id (32 lower-case hexadecimal characters)");
            }

            request = request with { ParentRunId = parent };
        }

        if (query["status"].ToString() is { Length: > 0 } statusText)
        {
            if (!RunStatusExtensions.TryParseWireName(statusText, out var status))
            {
                var names = string.Join(", ", Enum.GetValues<RunStatus>().Select(s => s.ToWireName()));
                return Problems.InvalidQuery($"status '{statusText}' is not one of: {names}");
            }

            request = request with { Status = status };
        }

        foreach (var (parameter, apply) in new (string, Func<DateTimeOffset, ListRunsRequest>)[]
                 {
                     ("createdAfter", t => request with { CreatedAfter = t }),
                     ("createdBefore", t => request with { CreatedBefore = t }),
                 })
        {
            if (query[parameter].ToString() is not { Length: > 0 } written)
            {
                continue;
            }

            // An unescaped '+' in a query string reads as a space ("...T02:00:00 01:00" from createdAfter=...T02:00:00+01:00
            // typed into curl): no ISO 8601 time holds a space, so one where the offset's sign would be is that '+'.
            var text = UnescapedPlusOffset().IsMatch(written) ? written[..^6] + "+" + written[^5..] : written;

            // The ISO 8601 shape first (DateTimeOffset.TryParse also reads "12/31/2026"), then the value: a time in that shape
            // it cannot hold (before year 1 or after 9999 in UTC) is out of range, not badly written.
            if (!IsoTimePattern().IsMatch(text))
            {
                return Problems.InvalidQuery($"{parameter} '{text}' is not an ISO 8601 time (e.g. 2026-01-15T02:00:00Z)");
            }

            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            {
                return Problems.InvalidQuery($"{parameter} '{text}' {WhyNotATime(text)}");
            }

            request = apply(at);
        }

        if (query["cursor"].ToString() is { Length: > 0 } cursor)
        {
            if (!IsRunId(cursor))
            {
                return Problems.InvalidQuery($"cursor '{cursor}' is not a cursor from a previous page's nextCursor");
            }

            request = request with { Cursor = cursor };
        }

        if (query["limit"].ToString() is { Length: > 0 } limitText)
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit is < 1 or > MaxLimit)
            {
                return Problems.InvalidQuery($"limit '{limitText}' must be a whole number from 1 to {MaxLimit}");
            }

            request = request with { Limit = limit };
        }

        // The list shows no input or output: none is read.
        var page = await client.ListRunsAsync(request with { WithoutPayloads = true }, context.RequestAborted);
        return TypedResults.Ok(new RunListView(page.Runs.Select(r => r.ToSummary(context.Request.PathBase)).ToList(), page.NextCursor, page.NextCursor is null ? null : NextLink(context, page.NextCursor)));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IBatonClient client)
    {
        if (!IsRunId(id))
        {
            return NotARunId(id);
        }

        var details = await client.GetRunAsync(id, context.RequestAborted);
        return details is null ? RunNotFound(id) : TypedResults.Ok(details.ToView(context.Request.PathBase));
    }

    private static async Task<IResult> GetSummaryAsync(string id, HttpContext context, IBatonClient client)
    {
        if (!IsRunId(id))
        {
            return NotARunId(id);
        }

        var run = await client.GetRunInfoAsync(id, context.RequestAborted);
        return run is null ? RunNotFound(id) : TypedResults.Ok(run.ToSummary(context.Request.PathBase));
    }

    private static async Task<IResult> CancelAsync(string id, HttpContext context, IBatonClient client)
    {
        if (!IsRunId(id))
        {
            return NotARunId(id);
        }

        var pathBase = context.Request.PathBase;
        var result = await client.CancelRunAsync(id, context.RequestAborted);
        return result.Outcome switch
        {
            CancelRunOutcome.Cancelled => TypedResults.Ok(new RunActionView("cancelled", result.Run!.ToSummary(pathBase))),
            CancelRunOutcome.Requested => TypedResults.Accepted(ApiMapping.LinksFor(pathBase, id).Self, new RunActionView("cancel_requested", result.Run!.ToSummary(pathBase))),
            CancelRunOutcome.AlreadyFinished => Problems.Conflict(
                "run-finished", "The run has already finished", $"run {id} is {result.Run?.Status.ToWireName() ?? "finished"}; only active runs can be cancelled"),
            _ => RunNotFound(id),
        };
    }

    private static async Task<IResult> RetryAsync(string id, HttpContext context, IBatonClient client)
    {
        if (!IsRunId(id))
        {
            return NotARunId(id);
        }

        var pathBase = context.Request.PathBase;
        var result = await client.RetryRunAsync(id, context.RequestAborted);
        return result.Outcome switch
        {
            RetryRunOutcome.Retried => TypedResults.Accepted(ApiMapping.LinksFor(pathBase, id).Self, new RunActionView("retried", result.Run!.ToSummary(pathBase))),
            RetryRunOutcome.NotRetryable => Problems.Conflict(
                "run-not-retryable", "The run cannot be retried",
                result.Run?.Status == RunStatus.Cancelled
                    ? $"run {id} was cancelled and its compensations ran; a retry would go on from steps that were undone"
                    : $"run {id} is {result.Run?.Status.ToWireName() ?? "not retryable"}; only failed, cancelled or compensation_failed runs can be retried"),
            RetryRunOutcome.Conflict => Problems.Conflict(
                "concurrency-conflict", "A run is already active",
                $"another run holds the concurrency key of run {id}; retry it when that run has finished",
                result.Run is null ? null : new Dictionary<string, object?> { ["activeRun"] = result.Run.ToSummary(pathBase) }),
            _ => RunNotFound(id),
        };
    }

    /// <summary>Run ids are the engine's UUIDv7 in 32 lower-case hex digits; anything else cannot name a run.</summary>
    internal static bool IsRunId(string? id) => id is { Length: 32 } && RunIdPattern().IsMatch(id);

    private static IResult NotARunId(string id) =>
        Problems.NotFound("run", $"'{Truncate(id)}' is not a run id (run ids are 32 lower-case hexadecimal characters)");

    private static IResult RunNotFound(string id) => Problems.NotFound("run", $"no run with id {id}");

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "…";

    private static string NextLink(HttpContext context, string cursor)
    {
        var parameters = context.Request.Query
            .Where(p => p.Key is not "cursor")
            .Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value.ToString())}")
            .Append($"cursor={Uri.EscapeDataString(cursor)}");
        return $"{context.Request.PathBase}/api/runs?" + string.Join('&', parameters);
    }

    /// <summary>
    /// Why a text of <see cref="IsoTimePattern"/>'s shape is no time: a date or clock reading the calendar does not have
    /// (2026-20-10, 2026-02-30, 25:00), an offset past ±14:00 (only after a clock reading: a plain date's last six
    /// characters are its month and day), or else a time before year 1 or after 9999 once in UTC.
    /// </summary>
    private static string WhyNotATime(string text)
    {
        var hasOffset = text.Length > 16 && text[^6] is '+' or '-';
        var local = hasOffset ? text[..^6] : text.TrimEnd('Z');
        if (!DateTime.TryParse(local, CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            return "is not a date and time the calendar has (month 01-12, a day the month has, hours 00-23, minutes and seconds 00-59)";
        }

        return hasOffset && int.Parse(text.AsSpan(text.Length - 5, 2), CultureInfo.InvariantCulture) * 60 + int.Parse(text.AsSpan(text.Length - 2, 2), CultureInfo.InvariantCulture) > 14 * 60
            ? $"has the offset {text[^6..]}; an offset is at most ±14:00"
            : "is out of range (years 0001 to 9999 in UTC)";
    }

    /// <summary>A date and time whose offset's '+' came as a space (the query string's unescaped '+').</summary>
    [GeneratedRegex(@"T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,7})?)? [0-9]{2}:[0-9]{2}\z", RegexOptions.CultureInvariant)]
    private static partial Regex UnescapedPlusOffset();

    /// <summary>A date, or a date and time with optional seconds, fraction and offset (Z or ±hh:mm).</summary>
    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,7})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex IsoTimePattern();

    [GeneratedRegex(@"^[0-9a-f]{32}\z")]
    private static partial Regex RunIdPattern();
}
