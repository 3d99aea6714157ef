using Baton.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.Testing;

/// <summary>Waits, after a host's <c>StartAsync</c>, for Baton's worker loop to have begun.</summary>
public static class WorkerStart
{
    /// <summary>
    /// The worker is a background service whose loop begins just after the host's <c>StartAsync</c> returns (its
    /// <c>ExecuteAsync</c> runs on a background task), and <c>/health</c> is <c>not_ready</c> until it has: a test that
    /// asked at once could see 503. Returns at once when the node runs no worker.
    /// </summary>
    public static async Task WaitAsync(IServiceProvider services)
    {
        var worker = services.GetRequiredService<IBatonWorkerStatus>();
        if (worker.Enabled)
        {
            await Poll.UntilAsync(() => Task.FromResult(worker.IsRunning), running => running, "the worker's loop to begin").ConfigureAwait(false);
        }
    }
}
