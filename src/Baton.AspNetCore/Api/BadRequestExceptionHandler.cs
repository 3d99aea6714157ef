using Microsoft.AspNetCore.Diagnostics;

namespace Baton.Server.Api;

/// <summary>
/// Turns the framework's <see cref="BadHttpRequestException"/> (unreadable request, body over the
/// limit, a parameter that cannot be bound) into a problem with its own 4xx status instead of a 500, on Baton's endpoints
/// (<see cref="BatonRoutes"/>): an embedding app's own routes keep the app's own handling.
/// </summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problems, ILogger<BadRequestExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted || !BatonRoutes.Answers(httpContext, storeError: false))
        {
            return false;
        }

        Log.BadRequest(logger, bad.StatusCode, bad.Message);
        httpContext.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = bad.StatusCode,
                Type = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? Problems.TypePrefix + "body-too-large" : Problems.TypePrefix + "bad-request",
                Title = "The request could not be read",
                Detail = bad.Message,
            },
        });
    }
}
