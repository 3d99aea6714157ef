using System.Text.Json.Nodes;
using Baton.Runs;
using Baton.Server.Auth;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Baton.Server.Api;

/// <summary>
/// What the endpoint metadata cannot say about the API's contract: the admin key an operation needs (an <c>apiKey</c>
/// security scheme in the <c>X-ADMIN-KEY</c> header, and its 401 answer, on every endpoint that requires the key:
/// <c>/api</c>, and <c>/metrics</c> when <c>Baton:Metrics:RequireAdminKey</c>; the others say they need none), the query parameters that
/// <c>GET /api/runs</c> reads by hand, and the <c>Idempotency-Key</c> header of starts and events. Generated clients and the
/// <c>/docs</c> page get them from here.
/// </summary>
internal sealed class ApiContract : IOpenApiDocumentTransformer
{
    public const string SchemeName = "adminKey";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-ADMIN-KEY",
            Description = "The server's admin key (ADMIN_KEY). Every /api operation needs it; a missing or wrong key is 401.",
        };

        // Grouped: two descriptions of one path and method (an app's route beside Baton's) must not fail the whole document.
        var needsKey = context.DescriptionGroups
            .SelectMany(g => g.Items)
            .Where(d => d.HttpMethod is not null)
            .GroupBy(d => ("/" + d.RelativePath?.TrimEnd('/'), d.HttpMethod!.ToUpperInvariant()))
            .ToDictionary(g => g.Key, g => g.Any(d => d.ActionDescriptor.EndpointMetadata.OfType<AdminKeyMetadata>().LastOrDefault()?.Required ?? false));
        foreach (var schema in document.Components?.Schemas?.Values ?? [])
        {
            NullableOneOfToAnyOf(schema, depth: 0);
        }

        foreach (var (route, path) in document.Paths)
        {
            foreach (var (method, operation) in path.Operations ?? [])
            {
                if (needsKey.GetValueOrDefault((route, method.Method.ToUpperInvariant())))
                {
                    operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, document)] = [] }];
                    operation.Responses ??= new OpenApiResponses();
                    operation.Responses.TryAdd("401", Unauthorized());
                }
                else
                {
                    // Explicitly open (an empty requirement list), so a reader does not have to guess.
                    operation.Security = [];
                }

                foreach (var parameter in ParametersOf(operation.OperationId))
                {
                    operation.Parameters ??= new List<IOpenApiParameter>();
                    operation.Parameters.Add(parameter);
                }
            }
        }

        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        return Task.CompletedTask;
    }

    private static IEnumerable<OpenApiParameter> ParametersOf(string? operationId) => operationId switch
    {
        "ListRuns" =>
        [
            Query("workflow", Text(), "Only runs of this workflow"),
            Query("status", Statuses(), "Only runs in this status"),
            Query("createdAfter", Text(), "Runs created at or after this time, ISO 8601 (2026-01-15, 2026-01-15T02:00:00Z, ...+01:00; UTC when no offset)"),
            Query("createdBefore", Text(), "Runs created before this time, ISO 8601 as createdAfter"),
            Query("parentRunId", Text(), "Only the children of this run (a run's own JSON lists its newest 500; moreChildren links here)"),
            Query("limit", new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = RunLimits.MaxPageSize.ToString(System.Globalization.CultureInfo.InvariantCulture), Default = JsonValue.Create(50) }, "Runs per page"),
            Query("cursor", Text(), "The nextCursor of the previous page"),
        ],
        "StartRun" => [IdempotencyKey("The same key for the same workflow names the same run: the first start answers 202, a later one 200 with that run")],
        "SendEvent" => [IdempotencyKey("The same key for the same run and event stores nothing new and answers duplicate: true")],
        _ => [],
    };

    private static OpenApiParameter Query(string name, OpenApiSchema schema, string description) =>
        new() { Name = name, In = ParameterLocation.Query, Required = false, Schema = schema, Description = description };

    private static OpenApiParameter IdempotencyKey(string description) => new()
    {
        Name = RunEndpoints.IdempotencyHeader,
        In = ParameterLocation.Header,
        Required = false,
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = RunLimits.MaxIdempotencyKeyLength },
        Description = description,
    };

    private static OpenApiSchema Text() => new() { Type = JsonSchemaType.String };

    /// <summary>
    /// A nullable value the generator writes as <c>oneOf: [{type: null}, X]</c>: when X accepts null too (a free JSON value,
    /// <c>{}</c>), null matches both branches and a validating client refuses every run whose input or output is null.
    /// <c>anyOf</c> says the same without that.
    /// </summary>
    private static void NullableOneOfToAnyOf(IOpenApiSchema schema, int depth)
    {
        if (depth > 16 || schema is not OpenApiSchema concrete)
        {
            return;
        }

        if (concrete.OneOf is { Count: 2 } oneOf && oneOf.Any(s => s is OpenApiSchema { Type: JsonSchemaType.Null }))
        {
            concrete.AnyOf = oneOf;
            concrete.OneOf = null;
        }

        foreach (var property in concrete.Properties?.Values ?? [])
        {
            NullableOneOfToAnyOf(property, depth + 1);
        }

        if (concrete.Items is { } items)
        {
            NullableOneOfToAnyOf(items, depth + 1);
        }
    }

    private static OpenApiSchema Statuses() => new()
    {
        Type = JsonSchemaType.String,
        Enum = [.. Enum.GetValues<RunStatus>().Select(s => (JsonNode)JsonValue.Create(s.ToWireName()))],
    };

    private static OpenApiResponse Unauthorized() => new()
    {
        Description = "No valid admin key in the X-ADMIN-KEY header. The body is the seeds' {error, detail} (application/json); "
            + "a host whose policy for the endpoint has no admin key answers a problem (application/problem+json)",
        Content = new Dictionary<string, OpenApiMediaType>
        {
            // What the server sends for the admin key (BatonAuthorizationResultHandler): before, only the problem shape was
            // documented, and a generated client expected the wrong body and media type.
            ["application/json"] = new()
            {
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Required = new HashSet<string> { "error", "detail" },
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["error"] = new OpenApiSchema { Type = JsonSchemaType.String },
                        ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
                    },
                },
                Example = new JsonObject { ["error"] = "Unauthorized", ["detail"] = "send the admin key in the X-ADMIN-KEY header" },
            },
            ["application/problem+json"] = new()
            {
                Schema = new OpenApiSchemaReference("ProblemDetails"),
                Example = new JsonObject
                {
                    ["type"] = Problems.TypePrefix + "unauthorized",
                    ["title"] = "Unauthorized",
                    ["status"] = 401,
                    ["detail"] = "the request carries no valid credentials for this endpoint",
                },
            },
        },
    };
}
