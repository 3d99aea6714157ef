using System.Diagnostics;
using System.Text.Json;
using Baton.Runs;
using Baton.Server.Auth;
using Baton.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.CatalogSync.Api;

/// <summary>Seed 000's API: <c>POST /sync</c>, <c>GET /sync?key=</c>, <c>GET /status</c> (<c>GET /healthz</c> is the server's).</summary>
internal static class SyncEndpoints
{
    private static readonly DateTimeOffset ProcessStart = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    /// <summary>What a 503 at the store's time limit says of a sync requested just now.</summary>
    internal const string UnknownOutcome =
        "A sync requested just now may still start once the store answers; repeating the request is safe: while that sync runs, it is answered 409";

    public static void Map(IEndpointRouteBuilder app)
    {
        // 409 documented as the seed sends it ({"error":"Sync already in progress","status":{...}}), not as a problem.
        app.MapPost("/sync", StartAsync).RequireAdminKey().WithStoreTimeout(UnknownOutcome)
            .Produces<System.Text.Json.JsonElement>(StatusCodes.Status200OK, "application/json").Produces<System.Text.Json.JsonElement>(StatusCodes.Status409Conflict, "application/json");
        app.MapGet("/sync", StartAsync).RequireAdminKey(allowQueryKey: true).WithStoreTimeout(UnknownOutcome)
            .Produces<System.Text.Json.JsonElement>(StatusCodes.Status200OK, "application/json").Produces<System.Text.Json.JsonElement>(StatusCodes.Status409Conflict, "application/json");
        app.MapGet("/status", StatusAsync).RequireAdminKey().WithStoreTimeout();
    }

    /// <summary>Starts a sync: 200 <c>{"message":"Sync started","status":{...}}</c>, or 409 while one runs (on any node).</summary>
    public static async Task<IResult> StartAsync(IBatonClient client, TimeProvider time, ILoggerFactory loggers, HttpContext http)
    {
        // Read before the store is: a start the store answered after the time limit still logs (its request has ended then).
        var route = http.Request.Method == "GET" ? "GET /sync" : "POST /sync";
        using var input = JsonDocument.Parse("""{"trigger":"api"}""");
        var result = await client.StartRunAsync(
            new StartRunRequest
            {
                Workflow = CatalogSyncWorkflow.Name,
                Input = input.RootElement,
                CorrelationId = RequestCorrelation.Get(http),
            },
            http.RequestAborted).ConfigureAwait(false);
        var now = time.GetUtcNow();
        switch (result.Outcome)
        {
            case StartRunOutcome.Created or StartRunOutcome.Existing:
                Log.SyncStarted(loggers.CreateLogger("Baton.Apps.CatalogSync"), result.Run!.Id, route);
                return Results.Json(new Dictionary<string, object?> { ["message"] = "Sync started", ["status"] = SyncStatus.From(result.Run, now, Uptime(now)) });
            case StartRunOutcome.Conflict:
                return Results.Json(
                    new Dictionary<string, object?> { ["error"] = "Sync already in progress", ["status"] = SyncStatus.From(result.Run, now, Uptime(now)) },
                    statusCode: StatusCodes.Status409Conflict);
            default:
                return Results.Problem(result.Error ?? "the sync could not be started", statusCode: StatusCodes.Status500InternalServerError);
        }
    }

    /// <summary>
    /// The sync that is running, if one is (the workflow's concurrency key allows one), else the latest sync's status (seed
    /// 000's shape plus Baton's fields); <c>idle</c> before the first. Before: always the newest created, so an older run
    /// retried while a newer one had finished showed "not running" while <c>POST /sync</c> answered 409 with it. The active
    /// states are read in one statement: asked one state at a time, a retried run moving from pending to running between
    /// two reads was missed and the finished newer run shown (CI, once).
    /// </summary>
    public static async Task<IResult> StatusAsync(IBatonClient client, TimeProvider time, HttpContext http)
    {
        var active = await client.ListRunsAsync(
            new ListRunsRequest { Workflow = CatalogSyncWorkflow.Name, Statuses = ActiveStatuses, Limit = 1, WithoutPayloads = true }, http.RequestAborted).ConfigureAwait(false);
        var page = active.Runs.Count > 0 ? active
            : await client.ListRunsAsync(new ListRunsRequest { Workflow = CatalogSyncWorkflow.Name, Limit = 1, WithoutPayloads = true }, http.RequestAborted).ConfigureAwait(false);
        var shown = page.Runs.Count > 0 ? page.Runs[0] : null;

        var now = time.GetUtcNow();
        return Results.Json(SyncStatus.From(shown, now, Uptime(now)));
    }

    private static readonly RunStatus[] ActiveStatuses = [RunStatus.Running, RunStatus.Suspended, RunStatus.Pending, RunStatus.Compensating];

    private static long Uptime(DateTimeOffset now) => (long)Math.Max(0, (now - ProcessStart).TotalSeconds);
}
