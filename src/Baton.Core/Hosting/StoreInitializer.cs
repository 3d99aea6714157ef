using Baton.Storage;
using Baton.Workers;
using Microsoft.Extensions.Hosting;

namespace Baton.Hosting;

/// <summary>
/// Creates or migrates the store's schema before the worker and scheduler start, then takes back the leases an
/// earlier process of this node left (a crash), so its runs resume at once instead of after the lease duration.
/// </summary>
internal sealed class StoreInitializer(IBatonStore store, EngineServices engine) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        if (store is not ILeaseRecovery recovery)
        {
            return;
        }

        var result = await recovery.RecoverLeasesAsync(
            new LeaseRecoveryRequest(engine.Options.NodeId, engine.Time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        engine.Owner = result.Owner;
        if (result.Reclaimed > 0)
        {
            Log.LeasesRecovered(engine.Logger, result.Reclaimed, engine.Options.NodeId);
        }

        if (!string.Equals(result.Owner, engine.Options.NodeId, StringComparison.Ordinal))
        {
            Log.NodeIdInUse(engine.Logger, engine.Options.NodeId, result.Owner);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
