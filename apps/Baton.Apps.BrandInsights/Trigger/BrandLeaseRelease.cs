using Baton.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Baton.Apps.BrandInsights.Trigger;

/// <summary>
/// Gives this process's brand leases back at a graceful stop (<see cref="BrandLeases.ReleaseAllAsync"/>). Registered
/// before the list trigger, so it stops after it (hosted services stop in the reverse order of their registration): by
/// then no chunk is being moved, and a brand whose batch finished has an empty processing list.
/// </summary>
internal sealed class BrandLeaseRelease(BrandRegistry registry, IRedisConnection redis, ILogger<BrandLeaseRelease> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (registry.Leases is not { } leases)
        {
            return;
        }

        try
        {
            Log.LeasesReleased(logger, await leases.ReleaseAllAsync(redis.Database, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
        {
            // The leases expire by themselves; the next holder waits for that.
            Log.LeasesNotReleased(logger, ex.Message);
        }
    }
}
