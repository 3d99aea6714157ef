using Baton.Client;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class BatonClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="BatonApiClient"/> as a typed HTTP client (IHttpClientFactory): its base address and admin
    /// key from <paramref name="configure"/>, the key added by an <see cref="AdminKeyHandler"/>, over a primary handler that
    /// follows no redirect (<see cref="BatonApiClient.NoRedirects"/>: the key would go wherever one points). The returned
    /// builder adds resilience handlers or another primary handler as usual.
    /// </summary>
    public static IHttpClientBuilder AddBatonClient(this IServiceCollection services, Action<BatonClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<BatonClientOptions>()
            .Configure(configure)
            .Validate(o => o.BaseAddress is { IsAbsoluteUri: true }, "BatonClientOptions.BaseAddress must be an absolute URI")
            .ValidateOnStart();
        return services.AddHttpClient<BatonApiClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<BatonClientOptions>>().Value;
                http.BaseAddress = options.BaseAddress is { } address ? BatonApiClient.AsDirectory(address) : null;
            })
            .ConfigurePrimaryHttpMessageHandler(BatonApiClient.NoRedirects)
            .AddHttpMessageHandler(sp => new AdminKeyHandler(sp.GetRequiredService<IOptions<BatonClientOptions>>().Value.AdminKey));
    }
}
