using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Baton.Apps.ReviewGateway.Tests.Infrastructure;

namespace Baton.Apps.ReviewGateway.Tests.Shutdown;

/// <summary>SIGTERM with the worker down: accepted jobs stay stored and are forwarded, once each, after the next start.</summary>
public sealed class ShutdownTests
{
    private const string Key = "shutdown-test-key-81d2";

    [Fact]
    public async Task Sigterm_WorkerDownWithJobsAcceptedAndInFlight_EveryAcceptedJobArrivesOnceAfterRestart()
    {
        var (environment, gatewayUrl, workerPort, client) = GatewayProcess.Prepare(Key);
        using var _ = client;
        var serverDll = GatewayProcess.ServerDll;
        var accepted = new List<string>();
        var attempted = new List<string>();

        // First life: the worker node is not running at all (connection refused).
        await using (var server = ChildProcess.Start(serverDll, [], environment))
        {
            await server.WaitForOkAsync(new Uri(gatewayUrl, "/health"));
            for (var i = 0; i < 25; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await EnqueueAsync(client, $"before-{i}", attempted, accepted));
            }

            // Requests keep coming while SIGTERM arrives: each one answered 202 must be kept.
            using var stop = new CancellationTokenSource();
            var senders = Enumerable.Range(0, 4).Select(s => Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    try
                    {
                        await EnqueueAsync(client, $"during-{s}-{n}", attempted, accepted);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        return;
                    }
                }
            })).ToList();
            await Poll.UntilAsync(() => Task.FromResult(Count(accepted)), n => n >= 60, "requests in flight before SIGTERM");

            server.Terminate();
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            await stop.CancelAsync();
            await Task.WhenAll(senders);
            Assert.Contains("Shutting down", server.Output, StringComparison.Ordinal);
        }

        var acceptedIds = Snapshot(accepted).Select(p => $"reviews:{p}:start").ToHashSet();
        var attemptedIds = Snapshot(attempted).Select(p => $"reviews:{p}:start").ToHashSet();

        // Second life: the worker node is up, the server starts again on the same store.
        await using var worker = await GatewayProcess.StartWorkerAsync(workerPort);
        var workerUrl = new Uri($"http://127.0.0.1:{workerPort}");
        await using var restarted = ChildProcess.Start(serverDll, [], environment);
        await restarted.WaitForOkAsync(new Uri(gatewayUrl, "/health"));

        using var workerClient = new HttpClient { BaseAddress = workerUrl };
        var jobs = await Poll.UntilAsync(
            () => GatewayProcess.ReadJobsAsync(workerClient),
            received => acceptedIds.IsSubsetOf(received.Keys),
            "every accepted job to reach the worker",
            TimeSpan.FromSeconds(90));
        // A job whose delivery the worker has seen may not have had its run completed yet, and a request cut
        // off by the shutdown may have been stored without its 202: wait until nothing is left to forward.
        await Poll.UntilAsync(() => GatewayProcess.PendingForwardAsync(client), n => n == 0, "no job left to forward", TimeSpan.FromSeconds(60));
        jobs = await GatewayProcess.ReadJobsAsync(workerClient);

        Assert.True(acceptedIds.Count >= 60);
        // Nothing arrives that was never sent; a request cut off by the shutdown may have been stored without its 202.
        Assert.True(jobs.Keys.ToHashSet().IsSubsetOf(attemptedIds), "the worker received a job nobody enqueued");
        // Once each: a run is forwarded once unless a delivery's answer was lost, and the worker drops such duplicates.
        Assert.All(acceptedIds, id => Assert.True(jobs[id] >= 1));
        restarted.Terminate();
        Assert.Equal(0, await restarted.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    private static async Task<HttpStatusCode> EnqueueAsync(HttpClient client, string placeId, List<string> attempted, List<string> accepted)
    {
        lock (attempted)
        {
            attempted.Add(placeId);
        }

        var status = await GatewayProcess.EnqueueAsync(client, placeId);
        if (status == HttpStatusCode.Accepted)
        {
            lock (accepted)
            {
                accepted.Add(placeId);
            }
        }

        return status;
    }

    private static int Count(List<string> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }

    private static List<string> Snapshot(List<string> list)
    {
        lock (list)
        {
            return [.. list];
        }
    }
}
