using Baton.AspNetCore;
using Baton.Server.Http;
using Microsoft.AspNetCore.Diagnostics;

namespace Baton.Server.Api;

/// <summary>
/// Marks the endpoints <c>MapBatonApi()</c>, <c>MapBatonHealth()</c>, <c>MapBatonMetrics()</c> and <c>MapBatonDashboard()</c> map:
/// Baton's exception handlers answer for these, and an embedding app's own routes keep the app's own handling.
/// </summary>
internal sealed class BatonEndpointMetadata
{
    public static readonly BatonEndpointMetadata Instance = new();
}

/// <summary>Which failed requests Baton's exception handlers answer.</summary>
internal static class BatonRoutes
{
    /// <summary>
    /// Whether Baton answers the failed request: on its own endpoints (<see cref="BatonEndpointMetadata"/>), and for a store
    /// error (<paramref name="storeError"/>) on an app's route that reads Baton's store (<c>WithStoreTimeout()</c>); on every
    /// request when the app is Baton's runnable server, which owns every route (<see cref="BatonApiOptions.AnswersEveryRoute"/>).
    /// The endpoint is the one the request reached (the exception handler middleware has cleared it from the context).
    /// </summary>
    public static bool Answers(HttpContext http, bool storeError)
    {
        if (http.RequestServices.GetService<BatonApiOptions>() is { AnswersEveryRoute: true })
        {
            return true;
        }

        var metadata = (http.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? http.GetEndpoint())?.Metadata;
        return metadata?.GetMetadata<BatonEndpointMetadata>() is not null
            || storeError && metadata?.GetMetadata<StoreTimeoutMetadata>() is not null;
    }
}
