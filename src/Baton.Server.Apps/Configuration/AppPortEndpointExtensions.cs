using Microsoft.AspNetCore.Builder;

namespace Baton.Server.Configuration;

/// <summary>Puts an app endpoint on one of the app's further listeners (<see cref="IBatonApp.MorePorts"/>).</summary>
/// <param name="Port">The port the endpoint answers on (and only there).</param>
public sealed record AppPortMetadata(int Port);

public static class AppPortEndpointExtensions
{
    /// <summary>
    /// Answers this endpoint only on <paramref name="port"/>, one of the app's <see cref="IBatonApp.MorePorts"/>, instead
    /// of on its <see cref="IBatonApp.OwnPort"/> (seed 001 serves <c>/health</c> and <c>/metrics</c> on two ports).
    /// </summary>
    public static TBuilder OnAppPort<TBuilder>(this TBuilder builder, int port)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AppPortMetadata(port));
}
