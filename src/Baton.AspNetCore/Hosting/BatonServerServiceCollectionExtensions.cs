using Baton.Dashboard;
using Baton.Server.Api;
using Baton.Server.Auth;
using Baton.Server.Health;
using Baton.Server.Logging;
using Baton.Server.Metrics;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Baton.Server.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Baton.AspNetCore;

/// <summary>Registers Baton's HTTP surface in an ASP.NET Core app.</summary>
public static class BatonServerServiceCollectionExtensions
{
    /// <summary>
    /// Registers what the API, health, metrics and dashboard need on top of <c>AddBaton()</c>: problem details, the
    /// bad-request and store-unavailable exception handlers (for Baton's endpoints; an app's own routes keep its own handling), the API's time limit for the store
    /// (<see cref="BatonApiOptions.RequestTimeout"/>), the admin key as the authentication scheme <see cref="BatonAuthorization.AdminKeyScheme"/>,
    /// the authorization policy <see cref="BatonAuthorization.PolicyName"/>, the OpenAPI document <c>baton</c>, the health check
    /// <c>baton</c> (tagged <c>baton</c>), the OpenTelemetry meter provider with the Prometheus exporter (the engine's, ASP.NET Core's, HttpClient's, the runtime's
    /// and Npgsql's meters) and the dashboard. Map the endpoints
    /// with <c>MapBatonApi()</c>, <c>MapBatonHealth()</c>, <c>MapBatonMetrics()</c> and <c>MapBatonDashboard()</c>.
    /// <paramref name="configure"/> runs once here (to learn the admin key, which is kept out of the logs) and again when
    /// the options are built.
    /// </summary>
    public static IServiceCollection AddBatonServer(this IServiceCollection services, Action<BatonApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var given = new BatonApiOptions();
        configure?.Invoke(given);
        var options = services.AddOptions<BatonApiOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<BatonApiOptions>>().Value);
        services.AddLogSecret(given.AdminKey);
        // The runnable host registers the key it resolved (a generated one in Development) before calling this.
        services.TryAddSingleton(sp => sp.GetRequiredService<BatonApiOptions>().AdminKey is { Length: > 0 } key ? new AdminKey(key.Trim()) : AdminKey.Unknown());
        services.TryAddSingleton<SecretRedactor>();
        services.TryAddSingleton<ProcessClock>();

        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<StoreUnavailableExceptionHandler>();
        services.AddOptions<StoreTimeoutOptions>().Configure<IOptions<BatonApiOptions>>((store, api) => store.Timeout = api.Value.RequestTimeout);
        // Under a name of its own: an app's own AddOpenApi() (document v1) and MapOpenApi() keep their document (see ApiDocs).
        services.AddOpenApi(ApiDocs.DocumentName);
        services.AddOptions<Microsoft.AspNetCore.OpenApi.OpenApiOptions>(ApiDocs.DocumentName).Configure<BatonApiOptions>(ApiDocs.Configure);
        services.AddBatonDashboard();

        services.AddAuthentication().AddScheme<AdminKeyAuthenticationOptions, AdminKeyAuthenticationHandler>(BatonAuthorization.AdminKeyScheme, null);
        // Not in place of a provider the host chose: only the framework's, which would make the admin key the default scheme.
        var schemeProvider = services.LastOrDefault(d => d.ServiceType == typeof(IAuthenticationSchemeProvider));
        if (schemeProvider?.ImplementationType == typeof(AuthenticationSchemeProvider))
        {
            services.Replace(ServiceDescriptor.Singleton<IAuthenticationSchemeProvider, ExplicitDefaultSchemeProvider>());
        }

        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<BatonApiOptions>((authorization, api) =>
            authorization.AddPolicy(BatonAuthorization.PolicyName, policy => policy.AddAuthenticationSchemes([.. api.AuthenticationSchemes]).RequireAuthenticatedUser()));
        // In place of the framework's default handler (not of one the host chose): it writes the seeds' 401 body on Baton's routes.
        var resultHandler = services.FirstOrDefault(d => d.ServiceType == typeof(IAuthorizationMiddlewareResultHandler));
        if (resultHandler is null || resultHandler.ImplementationType == typeof(AuthorizationMiddlewareResultHandler))
        {
            services.Replace(ServiceDescriptor.Singleton<IAuthorizationMiddlewareResultHandler, BatonAuthorizationResultHandler>());
        }

        services.AddHealthChecks().AddCheck<BatonHealthCheck>(BatonHealthCheck.Name, tags: [BatonHealthCheck.Tag]);
        services.TryAddSingleton<QueuedRunsGauge>();
        BatonTelemetry.AddMetrics(services, given.DetailedHttpMetrics);
        return services;
    }
}
