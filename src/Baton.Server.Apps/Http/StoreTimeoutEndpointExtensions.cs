using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Baton.Server.Http;

/// <summary>The request timeout of endpoints that read or write Baton's store.</summary>
public static class StoreTimeoutEndpointExtensions
{
    /// <summary>The name of the request timeout policy (<c>baton-api</c>) that <c>AddBatonServer</c> registers with <c>BatonApiOptions.RequestTimeout</c>.</summary>
    public const string PolicyName = "baton-api";

    /// <summary>
    /// Bounds the endpoints' requests by <c>BatonApiOptions.RequestTimeout</c> (policy <see cref="PolicyName"/>; the app
    /// needs <c>UseRequestTimeouts()</c> after <c>UseRouting()</c>): a request the store has not answered by then gets
    /// <c>503 store-unavailable</c> with <c>Retry-After</c>. The API has it; an app's own routes that read or write the
    /// store take it too (the catalog sync's <c>/sync</c> and <c>/status</c>).
    /// </summary>
    public static TBuilder WithStoreTimeout<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithRequestTimeout(PolicyName);
        // The request timeout only cancels the request's token, and Npgsql does not heed it against a server that hangs
        // (a stopped PostgreSQL: opening a connection waits out its Timeout, 15 s, and a cancelled command its cancel
        // request, token + 2 x Timeout; a GET answered after 60 s). WaitAsync answers at the timeout, as /health does; the
        // handler left behind ends when the driver gives up, and its result is never written.
        builder.AddEndpointFilter(static async (context, next) =>
            await next(context).AsTask().WaitAsync(context.HttpContext.RequestAborted).ConfigureAwait(false));
        return builder;
    }
}
