using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Baton.Server.Http;

/// <summary>
/// The one answer for a request Baton's store could not complete (an error a retry gets past, or no answer within the
/// time limit): <c>503</c>, <c>Retry-After: 1</c>, the problem type <c>urn:baton:problem:store-unavailable</c>.
/// </summary>
public static class StoreUnavailableProblem
{
    /// <summary>The problem's type.</summary>
    public const string Type = "urn:baton:problem:store-unavailable";

    /// <summary>Sets <paramref name="response"/>'s 503 and <c>Retry-After</c> and returns the problem saying <paramref name="detail"/>.</summary>
    public static ProblemDetails Prepare(HttpResponse response, string detail)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        response.Headers.RetryAfter = "1";
        return new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Type = Type, Title = "The store is unavailable", Detail = detail };
    }
}
