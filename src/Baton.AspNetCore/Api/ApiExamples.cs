using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Baton.Server.Api;

/// <summary>
/// Fills what the endpoint metadata cannot say: the request body schema of the endpoints that read their body by hand
/// (a run's input and an event's payload are any JSON value; a schedule is a strict object), and an example for every
/// request body and every response of the <c>/api</c> operations, built from the real view records so they cannot drift.
/// </summary>
internal sealed class ApiExamples : IOpenApiDocumentTransformer
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly DateTimeOffset At = new(2026, 1, 15, 2, 0, 0, TimeSpan.Zero);
    private const string RunId = "019bc0a1f2e37c4d8e9fa0b1c2d3e4f5";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var (_, path) in document.Paths)
        {
            foreach (var (_, operation) in path.Operations ?? [])
            {
                Fill(operation);
            }
        }

        return Task.CompletedTask;
    }

    private static void Fill(OpenApiOperation operation)
    {
        if (operation.RequestBody is OpenApiRequestBody body && RequestExample(operation.OperationId) is var (schema, example))
        {
            foreach (var (_, media) in body.Content ?? new Dictionary<string, OpenApiMediaType>())
            {
                media.Schema ??= schema;
                media.Example ??= example;
            }
        }

        foreach (var (code, response) in operation.Responses ?? [])
        {
            foreach (var (mediaType, media) in response.Content ?? new Dictionary<string, OpenApiMediaType>())
            {
                if (media is not OpenApiMediaType concrete || concrete.Example is not null)
                {
                    continue;
                }

                // A non-2xx answer that is not a problem (the 503 of /health is a HealthView) gets no problem example.
                concrete.Example = mediaType.Contains("problem", StringComparison.Ordinal)
                    ? ProblemExample(code)
                    : code.StartsWith('2') ? ResponseExample(operation.OperationId, code) : null;
            }
        }
    }

    private static (IOpenApiSchema Schema, JsonNode Example)? RequestExample(string? operationId) => operationId switch
    {
        "StartRun" => (AnyJson("The workflow's input (its input type as JSON); empty for none"), Node(new { items = 20, delayMs = 500 })),
        "SendEvent" => (AnyJson("The event's payload, any JSON value; empty for none"), Node(new { approvedBy = "ops@example.com" })),
        "PutSchedule" => (ScheduleBody(), Node(new { workflow = "catalog-sync", cron = "0 2 * * *", timeZone = "Europe/Brussels", input = new { trigger = "schedule" }, enabled = true, misfire = "skip" })),
        _ => null,
    };

    private static JsonNode? ResponseExample(string? operationId, string code) => operationId switch
    {
        "StartRun" => Node(Summary("pending")),
        "CancelRun" => Node(new RunActionView(code == "202" ? "cancel_requested" : "cancelled", Summary(code == "202" ? "running" : "cancelled"))),
        "RetryRun" => Node(new RunActionView("retried", Summary("pending"))),
        "ListRuns" => Node(new RunListView([Summary("running")], RunId, $"/api/runs?limit=1&cursor={RunId}")),
        "GetRun" => Node(Run()),
        "GetRunSummary" => Node(Summary("running")),
        "SendEvent" => Node(new EventAcceptedView(RunId, "approve", 1, At, false)),
        "ListSchedules" => Node(new[] { Schedule() }),
        "GetSchedule" or "PutSchedule" => Node(Schedule()),
        "ListWorkflows" => Node(new[] { new WorkflowView("demo", "Squares items in a durable fan-out", "DemoInput", "DemoOutput", null, "/api/workflows/demo/runs") }),
        _ => null,
    };

    private static JsonNode ProblemExample(string code)
    {
        var (slug, title, detail) = code switch
        {
            "400" => ("invalid-input", "The input was rejected", "items must be from 1 to 1000, not 5000"),
            "404" => ("run-not-found", "No such run", $"no run with id {RunId}"),
            "409" => ("concurrency-conflict", "A run is already active", $"run {RunId} of 'catalog-sync' is running and holds concurrency key 'catalog-sync'"),
            "413" => ("body-too-large", "The body is too large", "the body exceeds the limit of 1048576 bytes (Baton:MaxRequestBodyBytes)"),
            "415" => ("unsupported-media-type", "Unsupported content type", "content type 'text/plain' is not accepted; send application/json"),
            _ => ("error", "Error", "see detail"),
        };
        return Node(new { type = Problems.TypePrefix + slug, title, status = int.Parse(code, System.Globalization.CultureInfo.InvariantCulture), detail });
    }

    private static RunSummary Summary(string status) => new(
        RunId, "demo", status, status == "pending" ? null : "processing", new Dictionary<string, long> { ["items.total"] = 20, ["items.done"] = 7 },
        At, status == "pending" ? null : At.AddSeconds(1), null, null, ApiMapping.LinksFor(PathString.Empty, RunId))
    {
        UpdatedAt = status == "pending" ? At : At.AddSeconds(2),
    };

    private static RunView Run() => new(
        RunId, "demo", "succeeded", "done", new Dictionary<string, long> { ["items.total"] = 2, ["items.done"] = 2 }, [],
        JsonSerializer.SerializeToElement(new { items = 2, delayMs = 500 }), JsonSerializer.SerializeToElement(new { items = 2, sum = 5, summary = "2 items, sum 5" }),
        null, null, null, null, null, "3f2c9a1b", false, 1, At, At.AddSeconds(1), At.AddSeconds(3), At.AddSeconds(3), At, null,
        [new StepView("prepare", "step", "succeeded", JsonSerializer.SerializeToElement(new List<int> { 1, 2 }), null, null, 1, At.AddSeconds(1), At.AddSeconds(1.5), 500,
            [new AttemptView(1, "succeeded", At.AddSeconds(1), At.AddSeconds(1.5), 500, null, null)])],
        ApiMapping.LinksFor(PathString.Empty, RunId));

    private static ScheduleView Schedule() => new(
        "nightly-sync", "catalog-sync", "0 2 * * *", "Europe/Brussels", JsonSerializer.SerializeToElement(new { trigger = "schedule" }), true, "skip",
        At.AddDays(1), At, RunId, At.AddDays(-7), At.AddDays(-7));

    private static JsonNode Node<T>(T value) => JsonSerializer.SerializeToNode(value, Json)!;

    private static OpenApiSchema AnyJson(string description) => new() { Description = description };

    private static OpenApiSchema ScheduleBody() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "Unknown fields are refused (400), so a misspelt field cannot silently fall back to a default",
        Required = new HashSet<string> { "workflow", "cron" },
        AdditionalPropertiesAllowed = false,
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["name"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Optional; must equal the name in the URL" },
            ["workflow"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The workflow each fire starts" },
            ["cron"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "5 fields (minute hour day month weekday) or 6 with leading seconds" },
            ["timeZone"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "IANA or Windows time zone id; default UTC" },
            ["input"] = new OpenApiSchema { Description = "The input of each fired run, any JSON value" },
            ["enabled"] = new OpenApiSchema { Type = JsonSchemaType.Boolean, Description = "Default true" },
            ["misfire"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("skip"), JsonValue.Create("run_once")], Description = "Default skip" },
        },
    };
}
