using System.Diagnostics.Metrics;
using Baton.Inbox;
using Baton.Nodes;
using Baton.Retention;
using Baton.Retries;
using Baton.Runs;
using Baton.Scheduling;
using Baton.Storage;
using Baton.Workers;
using Baton.Workflows;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Baton.Hosting;

public static class BatonServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Baton engine: the client (<see cref="IBatonClient"/>), the inbox for transports (<see cref="IBatonInbox"/>), schedules (<see cref="ISchedules"/>),
    /// the worker and the scheduler as hosted services. Choose a store on the returned builder.
    /// </summary>
    public static BatonBuilder AddBaton(this IServiceCollection services, Action<BatonOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var registry = new WorkflowRegistry();
        var optionsBuilder = services.AddOptions<BatonOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<BatonOptions>, BatonOptionsValidator>();
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IJitterSource, HashedJitter>();
        services.AddSingleton(registry);
        services.AddSingleton<IWorkflowCatalog>(registry);
        services.TryAddSingleton(sp => new BatonMetrics(sp.GetService<IMeterFactory>()));
        services.AddSingleton<WorkflowJson>();
        services.AddSingleton<WorkSignal>();
        services.AddSingleton<EngineServices>();
        services.AddSingleton<RunExecutor>();
        services.AddSingleton<Worker>();
        services.AddSingleton<IBatonWorkerStatus>(sp => sp.GetRequiredService<Worker>());
        services.AddSingleton<IBatonClient, BatonClient>();
        services.AddSingleton<IRunCompletions, RunCompletions>();
        services.AddSingleton<IBatonInbox, BatonInbox>();
        services.AddSingleton<ISchedules, Schedules>();
        services.AddSingleton<Scheduler>();
        services.AddSingleton(sp => new NodeRegistry(sp.GetRequiredService<IBatonStore>().Nodes, sp.GetRequiredService<EngineServices>(), registry));
        services.AddSingleton<IBatonNodes>(sp => sp.GetRequiredService<NodeRegistry>());
        // Hosted services start in registration order: the schema exists before anything claims or fires.
        services.AddHostedService<StoreInitializer>();
        // Before the worker, so it stops after it: a draining node stays listed until its runs are released.
        services.AddHostedService(sp => sp.GetRequiredService<NodeRegistry>());
        services.AddHostedService(sp => sp.GetRequiredService<Worker>());
        services.AddHostedService(sp => sp.GetRequiredService<Scheduler>());
        services.AddSingleton<Pruner>();
        services.AddHostedService(sp => sp.GetRequiredService<Pruner>());
        return new BatonBuilder(services, registry);
    }
}
