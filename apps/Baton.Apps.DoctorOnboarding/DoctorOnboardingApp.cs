using Baton.Apps.DoctorOnboarding.Messaging;
using Baton.Hosting;
using Baton.RabbitMq;
using Baton.Server.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.DoctorOnboarding;

/// <summary>
/// Seed 004, the MedicaLink orchestrator service, on Baton: a NestJS RMQ microservice on <c>orchestrator_queue</c> with
/// the seed's patterns; the doctor sagas are durable runs (<c>doctor-create</c>, <c>doctor-update</c>,
/// <c>doctor-delete</c>), the composite reads go through a Redis cache that the services' domain events invalidate.
/// No HTTP surface of its own. Switched on with <c>Baton:Apps:DoctorOnboarding:Enabled=true</c>.
/// </summary>
public sealed class DoctorOnboardingApp : IBatonApp
{
    public string Name => "DoctorOnboarding";

    public void ConfigureServices(WebApplicationBuilder builder, BatonBuilder baton)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = DoctorOptions.Read(builder.Configuration);
        if (options.BindingErrors.Count > 0)
        {
            throw new ArgumentException("DoctorOnboarding settings: " + string.Join("; ", options.BindingErrors));
        }

        var services = builder.Services;
        baton.AddDoctorOnboardingCore(options);
        var handle = new ProviderHandle();
        services.AddSingleton(handle);
        services.AddSingleton<IHostedService, ProviderHandle.Setter>();
        services.AddSingleton<IDoctorServices, NestDoctorServices>();
        baton.AddRabbitMq(options.RabbitMqUrl)
            .AddNestClient(NestDoctorServices.AccountsClient, options.AccountsQueue)
            .AddNestClient(NestDoctorServices.DirectoryClient, options.ProviderDirectoryQueue)
            .AddNestServer(options.Queue, o =>
            {
                // Reads are answered in-process while the request waits: room for many at once.
                o.Prefetch = options.MaxInFlight;
                o.Concurrency = options.MaxInFlight;
            })
            .AddOrchestratorPatterns(() => handle.Provider);
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<DoctorOptions>();
        var logger = endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger<DoctorOnboardingApp>();
        Log.Started(logger, options.Queue, options.AccountsQueue, options.ProviderDirectoryQueue);
    }
}
