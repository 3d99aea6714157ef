using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Baton.Server.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Baton.Server.Api;

/// <summary>
/// Reads a JSON request body by hand rather than through parameter binding, so every way a body can be
/// wrong (content type, size, syntax) gets its own status and a clear problem detail instead of a
/// framework exception.
/// </summary>
internal static class JsonBody
{
    /// <summary>
    /// The parsed body (null when it is empty and <paramref name="allowEmpty"/>), or the problem to answer with.
    /// The caller disposes the document. <paramref name="limitName"/> names <paramref name="limit"/> in a 413's detail.
    /// </summary>
    public static async Task<(JsonDocument? Document, ProblemHttpResult? Problem)> ReadAsync(
        HttpContext context, long limit, bool allowEmpty, CancellationToken cancellationToken = default, string limitName = "Baton:MaxRequestBodyBytes")
    {
        var request = context.Request;
        var hasBody = request.ContentLength is > 0 || request.ContentLength is null && request.Headers.TransferEncoding.Count > 0;
        if (!hasBody)
        {
            return allowEmpty ? (null, null) : (null, Problems.InvalidJson("a JSON body is required"));
        }

        if (!IsJson(request.ContentType))
        {
            return (null, Problems.UnsupportedMediaType(request.ContentType));
        }

        if (request.ContentLength > limit)
        {
            await DropAsync(context, cancellationToken).ConfigureAwait(false);
            return (null, Problems.TooLarge(limit, limitName));
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        using var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Problems.TooLarge(limit, limitName));
        }

        if (buffer.Length > limit)
        {
            return (null, Problems.TooLarge(limit, limitName));
        }

        if (buffer.Length == 0)
        {
            return allowEmpty ? (null, null) : (null, Problems.InvalidJson("a JSON body is required"));
        }

        var bytes = buffer.ToArray();
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return (null, Problems.InvalidJson("the body is not valid UTF-8"));
        }

        try
        {
            // A name twice in one object is refused: the workflow read the last and the run's page showed both, so a body
            // read one way by a person and another by the workflow ({"items":1,"items":1000} started 1,000 items).
            return (JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false }), null);
        }
        catch (JsonException ex)
        {
            return (null, Problems.InvalidJson($"the body is not valid JSON: {ex.Message}"));
        }
        catch (InvalidOperationException)
        {
            // The duplicate-name check decodes each name, and a name with a \u escape of half a surrogate pair cannot be
            // decoded: .NET throws this instead of a JsonException.
            return (null, Problems.InvalidJson("the body is not valid JSON: a property name holds a \\u escape of half a surrogate pair (\\uD800-\\uDFFF without its other half), which is not text"));
        }
    }

    /// <summary>
    /// Reads and drops a body announced over the limit (up to <see cref="RequestBodies.DropLimit"/> bytes) before its 413
    /// is sent, so a client still sending it gets the answer (<see cref="RequestBodies"/>).
    /// </summary>
    private static async Task DropAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (context.Request.ContentLength is not { } length || length > RequestBodies.DropLimit
            || context.Features.Get<IHttpMaxRequestBodySizeFeature>() is not { IsReadOnly: false } sizeFeature)
        {
            return;
        }

        sizeFeature.MaxRequestBodySize = length;
        await RequestBodies.DropRestAsync(context.Request.Body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Documents a JSON request body in OpenAPI without <c>Accepts</c> metadata: that metadata makes routing
    /// refuse other content types itself, with a generic 415, before the endpoint can explain.
    /// </summary>
    public static RouteHandlerBuilder WithJsonRequestBody(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
            {
                Required = false,
                Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType> { ["application/json"] = new() },
            };
            return Task.CompletedTask;
        });

    /// <summary><c>application/json</c> or any <c>+json</c> type, with any parameters.</summary>
    public static bool IsJson(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return false;
        }

        var mediaType = contentType.Split(';', 2)[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }
}
