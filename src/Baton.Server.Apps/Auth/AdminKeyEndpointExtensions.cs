using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;

namespace Baton.Server.Auth;

/// <summary>How an endpoint is protected. Endpoints without it need the key in the <c>X-ADMIN-KEY</c> header.</summary>
/// <param name="Required">False lets the endpoint be called without a key.</param>
/// <param name="AllowQueryKey">Also accept the key as <c>?key=</c> (seed 000's cron-friendly <c>GET /sync?key=</c>).</param>
public sealed record AdminKeyMetadata(bool Required, bool AllowQueryKey);

/// <summary>
/// The names under which Baton registers its access rules with ASP.NET Core (Baton.AspNetCore's <c>AddBatonServer</c>).
/// </summary>
public static class BatonAuthorization
{
    /// <summary>
    /// The authorization policy every protected Baton endpoint requires. By default it authenticates with
    /// <see cref="AdminKeyScheme"/> only; a host adds its own schemes (JWT bearer, OpenID Connect) through
    /// <c>BatonApiOptions.AuthenticationSchemes</c>, or replaces the policy with <c>AddPolicy(PolicyName, ...)</c>
    /// after <c>AddBatonServer</c>.
    /// </summary>
    public const string PolicyName = "Baton.Admin";

    /// <summary>The authentication scheme that accepts the admin key (<c>X-ADMIN-KEY</c>, or <c>?key=</c> where an endpoint allows it).</summary>
    public const string AdminKeyScheme = "BatonAdminKey";
}

public static class AdminKeyEndpointExtensions
{
    /// <summary>The header the admin key is sent in (the seeds' convention).</summary>
    public const string HeaderName = "X-ADMIN-KEY";

    /// <summary>The query parameter accepted by endpoints that opt in with <c>allowQueryKey</c>.</summary>
    public const string QueryName = "key";

    private static readonly AuthorizationPolicy Anyone = new AuthorizationPolicyBuilder().RequireAssertion(_ => true).Build();

    /// <summary>
    /// Requires the <see cref="BatonAuthorization.PolicyName"/> policy (the admin key unless the host added schemes; the default for
    /// every endpoint of the Baton server); <paramref name="allowQueryKey"/> also accepts the key as <c>?key=</c>.
    /// </summary>
    public static TBuilder RequireAdminKey<TBuilder>(this TBuilder builder, bool allowQueryKey = false)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AdminKeyMetadata(Required: true, AllowQueryKey: allowQueryKey)).RequireAuthorization(BatonAuthorization.PolicyName);

    /// <summary>
    /// Lets the endpoint be called without the admin key (probes, Prometheus). Besides <c>AllowAnonymous</c> it names a policy
    /// with no authentication scheme, so a host's fallback policy (the runnable server's default deny) does not run an
    /// authentication handler for each probe.
    /// </summary>
    public static TBuilder AllowWithoutAdminKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AdminKeyMetadata(Required: false, AllowQueryKey: false)).RequireAuthorization(Anyone).AllowAnonymous();

    /// <summary>
    /// Lets the endpoint be called without the admin key, run straight from the routing middleware (ASP.NET Core's
    /// <c>ShortCircuit()</c>): the authentication, authorization and endpoint middlewares, and any middleware a host put after
    /// <c>UseRouting()</c>, are skipped, and <c>HttpContext.User</c> stays anonymous. Meant for an app's open routes that take
    /// thousands of requests a second (the review gateway's <c>POST /enqueue</c>): on the runnable server each of those
    /// middlewares is one more async frame per request, and authorizing an open endpoint still evaluates the fallback policy,
    /// which creates a request service scope and an empty principal that nothing reads (about 1 KB and a few µs a request).
    /// Unlike <see cref="AllowWithoutAdminKey"/>, the endpoint carries no authorization requirement (<c>RequireAuthorization</c>):
    /// ASP.NET Core refuses to short-circuit an endpoint that has one. It keeps <c>AllowAnonymous</c>.
    /// </summary>
    public static TBuilder AllowWithoutAdminKeyFromRouting<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new AdminKeyMetadata(Required: false, AllowQueryKey: false)).AllowAnonymous().ShortCircuit();
        return builder;
    }
}
