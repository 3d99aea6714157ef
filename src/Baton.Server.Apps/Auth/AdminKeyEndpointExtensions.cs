using Microsoft.AspNetCore.Builder;

namespace Baton.Server.Auth;

/// <summary>How an endpoint is protected. Endpoints without it need the key in the <c>X-ADMIN-KEY</c> header.</summary>
/// <param name="Required">False lets the endpoint be called without a key.</param>
/// <param name="AllowQueryKey">Also accept the key as <c>?key=</c> (seed 000's cron-friendly <c>GET /sync?key=</c>).</param>
public sealed record AdminKeyMetadata(bool Required, bool AllowQueryKey);

public static class AdminKeyEndpointExtensions
{
    /// <summary>The header the admin key is sent in (the seeds' convention).</summary>
    public const string HeaderName = "X-ADMIN-KEY";

    /// <summary>The query parameter accepted by endpoints that opt in with <c>allowQueryKey</c>.</summary>
    public const string QueryName = "key";

    /// <summary>Requires the admin key (the default for every endpoint); <paramref name="allowQueryKey"/> also accepts <c>?key=</c>.</summary>
    public static TBuilder RequireAdminKey<TBuilder>(this TBuilder builder, bool allowQueryKey = false)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AdminKeyMetadata(Required: true, AllowQueryKey: allowQueryKey));

    /// <summary>Lets the endpoint be called without the admin key (probes, Prometheus).</summary>
    public static TBuilder AllowWithoutAdminKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AdminKeyMetadata(Required: false, AllowQueryKey: false));
}
