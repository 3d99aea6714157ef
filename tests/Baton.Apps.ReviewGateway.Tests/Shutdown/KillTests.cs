using System.Diagnostics;
using System.Net;
using Baton.Apps.ReviewGateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Baton.Apps.ReviewGateway.Tests.Shutdown;

/// <summary>
/// SIGKILL with the worker down and every accepted job leased and retrying: the restarted server forwards them
/// within 2 s of being ready, although the killed process's leases (the default 30 s) have not expired.
/// </summary>
public sealed class KillTests(ITestOutputHelper output)
{
    private const string Key = "kill-test-key-5c7e19a0";
    private static readonly TimeSpan ResumeBound = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Sigkill_JobsRetryingWithWorkerDown_RestartForwardsThemWithin2sOfReady()
    {
        var (environment, gatewayUrl, workerPort, client) = GatewayProcess.Prepare(Key);
        using var _ = client;
        var accepted = new HashSet<string>();

        await using (var server = ChildProcess.Start(GatewayProcess.ServerDll, [], environment))
        {
            await server.WaitForOkAsync(new Uri(gatewayUrl, "/health"));
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await GatewayProcess.EnqueueAsync(client, $"killed-{i}"));
                accepted.Add($"reviews:killed-{i}:start");
            }

            server.Kill();
        }

        await using var worker = await GatewayProcess.StartWorkerAsync(workerPort);
        using var workerClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{workerPort}") };
        await using var restarted = ChildProcess.Start(GatewayProcess.ServerDll, [], environment);
        await restarted.WaitForOkAsync(new Uri(gatewayUrl, "/health"));
        var ready = Stopwatch.StartNew();
        var jobs = await Poll.UntilAsync(
            () => GatewayProcess.ReadJobsAsync(workerClient),
            received => accepted.IsSubsetOf(received.Keys),
            "every accepted job to reach the worker",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(20));
        var forwardedAfter = ready.Elapsed;

        output.WriteLine($"the {accepted.Count} jobs accepted before the kill reached the worker {forwardedAfter.TotalMilliseconds:0} ms after the restarted server was ready");
        Assert.True(forwardedAfter < ResumeBound, $"forwarding resumed {forwardedAfter} after the restart, not within {ResumeBound}");
        Assert.All(accepted, id => Assert.True(jobs[id] >= 1));
        restarted.Terminate();
        Assert.Equal(0, await restarted.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }
}
