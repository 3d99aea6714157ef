using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;

namespace Baton.Server.Api;

/// <summary>
/// The body of an error that no endpoint wrote (no route for the path, a method the route does not take):
/// the same problem shape as every other API error, <c>urn:baton:problem:not-found</c> or
/// <c>urn:baton:problem:method-not-allowed</c> with a detail, instead of the framework's bare RFC link.
/// </summary>
internal static class StatusCodeProblems
{
    public static async Task WriteAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var request = http.Request;
        var status = http.Response.StatusCode;
        var target = $"{request.Method} {request.Path}";
        var (slug, title, detail) = status switch
        {
            StatusCodes.Status404NotFound => ("not-found", "No such route", $"no route matches {target}; see /openapi/v1.json for the API"),
            StatusCodes.Status405MethodNotAllowed => ("method-not-allowed", "Method not allowed", http.Response.Headers.Allow is { Count: > 0 } allow
                ? $"{request.Path} does not accept {request.Method}; it accepts {allow.ToString()}"
                : $"{request.Path} does not accept {request.Method}"),
            _ => ($"http-{status}", ReasonPhrases.GetReasonPhrase(status), $"{target} answered {status} {ReasonPhrases.GetReasonPhrase(status)}"),
        };
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = status, Type = Problems.TypePrefix + slug, Title = title, Detail = detail },
        }).ConfigureAwait(false);
    }
}
