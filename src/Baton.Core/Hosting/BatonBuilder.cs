using Baton.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Hosting;

/// <summary>Configures Baton: the store, the workflows, the worker. Returned by <c>AddBaton</c>.</summary>
public sealed class BatonBuilder
{
    internal BatonBuilder(IServiceCollection services) => Services = services;

    public IServiceCollection Services { get; }

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
}
