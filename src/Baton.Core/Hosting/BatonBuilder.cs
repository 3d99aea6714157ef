using Baton.Storage;
using Baton.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Hosting;

/// <summary>Configures Baton: the store, the workflows, the worker. Returned by <c>AddBaton</c>.</summary>
public sealed class BatonBuilder
{
    internal BatonBuilder(IServiceCollection services, WorkflowRegistry registry)
    {
        Services = services;
        Registry = registry;
    }

    public IServiceCollection Services { get; }

    internal WorkflowRegistry Registry { get; }

    /// <summary>
    /// Sets the store. Store packages wrap this in their own extension (<c>UseSqlite</c>, <c>UsePostgres</c>).
    /// The last call wins.
    /// </summary>
    public BatonBuilder UseStore(Func<IServiceProvider, IBatonStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.AddSingleton(factory);
        Services.AddSingleton(sp => sp.GetRequiredService<IBatonStore>().Runs);
        Services.AddSingleton(sp => sp.GetRequiredService<IBatonStore>().Steps);
        Services.AddSingleton(sp => sp.GetRequiredService<IBatonStore>().Schedules);
        return this;
    }

    /// <summary>
    /// Registers <typeparamref name="TWorkflow"/> under <paramref name="name"/> (default: the type name).
    /// A new instance is resolved from the service provider for every execution.
    /// </summary>
    public BatonBuilder AddWorkflow<TWorkflow, TInput, TOutput>(string? name = null, Action<WorkflowOptions>? configure = null)
        where TWorkflow : Workflow<TInput, TOutput>
    {
        var options = new WorkflowOptions();
        configure?.Invoke(options);
        Services.AddTransient<TWorkflow>();
        Registry.Add<TInput, TOutput>(
            name ?? typeof(TWorkflow).Name,
            (services, context, input, cancellationToken) =>
                services.GetRequiredService<TWorkflow>().RunAsync(context, input, cancellationToken),
            options);
        return this;
    }

    /// <summary>Registers a workflow written as a delegate.</summary>
    public BatonBuilder AddWorkflow<TInput, TOutput>(
        string name,
        Func<IWorkflowContext, TInput, CancellationToken, Task<TOutput>> run,
        Action<WorkflowOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        var options = new WorkflowOptions();
        configure?.Invoke(options);
        Registry.Add<TInput, TOutput>(name, (_, context, input, cancellationToken) => run(context, input, cancellationToken), options);
        return this;
    }
}
