using Baton.Storage;
using Microsoft.Extensions.Hosting;

namespace Baton.Hosting;

/// <summary>Creates or migrates the store's schema before the worker and scheduler start.</summary>
internal sealed class StoreInitializer(IBatonStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
