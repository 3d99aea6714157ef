using Microsoft.Extensions.Hosting;

namespace Baton.Samples.Demo;

internal static class HostStarted
{
    /// <summary>
    /// Waits until the host has started (so the server's URLs are live and the first log lines are out);
    /// false when it stops first.
    /// </summary>
    public static async Task<bool> WaitAsync(IHostApplicationLifetime lifetime, CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task.ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }
}
