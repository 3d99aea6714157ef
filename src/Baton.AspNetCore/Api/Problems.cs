using Microsoft.AspNetCore.Http.HttpResults;

namespace Baton.Server.Api;

/// <summary>
/// RFC 9457 problem details for every API error: a stable <c>type</c> per kind of problem and a
/// <c>detail</c> that says what to change.
/// </summary>
internal static class Problems
{
    public const string TypePrefix = "urn:baton:problem:";

    public static ProblemHttpResult InvalidJson(string detail) => Create(StatusCodes.Status400BadRequest, "invalid-json", "The body is not valid JSON", detail);

    public static ProblemHttpResult InvalidInput(string detail) => Create(StatusCodes.Status400BadRequest, "invalid-input", "The input was rejected", detail);

    public static ProblemHttpResult InvalidQuery(string detail) => Create(StatusCodes.Status400BadRequest, "invalid-query", "A query parameter is invalid", detail);

    public static ProblemHttpResult InvalidSchedule(string detail) => Create(StatusCodes.Status400BadRequest, "invalid-schedule", "The schedule was rejected", detail);

    public static ProblemHttpResult UnsupportedMediaType(string? contentType) => Create(
        StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported content type",
        contentType is null or "" ? "send the body as JSON with Content-Type: application/json" : $"content type '{contentType}' is not accepted; send application/json");

    /// <summary>413; <paramref name="limitName"/> says which limit it is (a setting, or a fixed limit of the route).</summary>
    public static ProblemHttpResult TooLarge(long limit, string limitName = "Baton:MaxRequestBodyBytes") => Create(
        StatusCodes.Status413PayloadTooLarge, "body-too-large", "The body is too large", $"the body exceeds the limit of {limit} bytes ({limitName})");

    public static ProblemHttpResult NotFound(string kind, string detail) => Create(StatusCodes.Status404NotFound, $"{kind}-not-found", $"No such {kind}", detail);

    public static ProblemHttpResult Conflict(string slug, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        Create(StatusCodes.Status409Conflict, slug, title, detail, extensions);

    public static ProblemHttpResult Create(int status, string slug, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypePrefix + slug, extensions: extensions);
}
