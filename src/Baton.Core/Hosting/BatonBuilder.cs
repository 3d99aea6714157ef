using System.Reflection;
using System.Runtime.ExceptionServices;
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
        Services.AddSingleton(sp => sp.GetRequiredService<IBatonStore>().Events);
        return this;
    }

    /// <summary>
    /// Registers <typeparamref name="TWorkflow"/> under <paramref name="name"/> (default: the type name). Its input
    /// and output types are those of its <see cref="Workflow{TInput, TOutput}"/> base class. A new instance is
    /// resolved from the service provider for every execution.
    /// </summary>
    /// <exception cref="ArgumentException">The type does not derive from <see cref="Workflow{TInput, TOutput}"/>,
    /// the name is taken or invalid, or the concurrency key selector does not take the input type.</exception>
    public BatonBuilder AddWorkflow<TWorkflow>(string? name = null, Action<WorkflowOptions>? configure = null)
        where TWorkflow : class, IWorkflow
    {
        var baseType = typeof(TWorkflow).BaseType;
        while (baseType is not null && !(baseType.IsGenericType && baseType.GetGenericTypeDefinition() == typeof(Workflow<,>)))
        {
            baseType = baseType.BaseType;
        }

        if (baseType is null)
        {
            throw new ArgumentException($"{typeof(TWorkflow).Name} must derive from Workflow<TInput, TOutput>", nameof(TWorkflow));
        }

        var options = new WorkflowOptions();
        configure?.Invoke(options);
        var types = baseType.GetGenericArguments();
        var add = typeof(BatonBuilder).GetMethod(nameof(AddTyped), BindingFlags.NonPublic | BindingFlags.Instance)!
            .MakeGenericMethod(typeof(TWorkflow), types[0], types[1]);
        try
        {
            add.Invoke(this, [name ?? typeof(TWorkflow).Name, options]);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
        }

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

    private void AddTyped<TWorkflow, TInput, TOutput>(string name, WorkflowOptions options)
        where TWorkflow : Workflow<TInput, TOutput>
    {
        Registry.Add<TInput, TOutput>(
            name,
            (services, context, input, cancellationToken) =>
                services.GetRequiredService<TWorkflow>().RunAsync(context, input, cancellationToken),
            options);
        Services.AddTransient<TWorkflow>();
    }
}
