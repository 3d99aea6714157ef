namespace Baton.Server.Http;

/// <summary>What a service that answered 429 or 503 asked for in its <c>Retry-After</c> header, for the apps' outbound calls.</summary>
public static class RetryAfterHeader
{
    /// <summary>The wait <paramref name="response"/>'s <c>Retry-After</c> asks for (seconds, or a date measured from now, never negative), or null if it has none.</summary>
    public static TimeSpan? WaitOf(HttpResponseMessage response, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(time);
        return response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta < TimeSpan.Zero ? TimeSpan.Zero : delta,
            { Date: { } date } => date - time.GetUtcNow() is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero,
            _ => null,
        };
    }
}
