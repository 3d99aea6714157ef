using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Baton.Runs;

namespace Baton.Bench;

internal sealed record EventBurstResult(int Events, TimeSpan SendElapsed, TimeSpan Elapsed, double P50, double P99)
{
    /// <summary>Events stored per second by the senders (each send is stored before it returns).</summary>
    public double SentPerSecond => Events / SendElapsed.TotalSeconds;

    /// <summary>Events sent and their runs resumed to the end, per second.</summary>
    public double ResumedPerSecond => Events / Elapsed.TotalSeconds;
}

/// <summary>
/// External events: how long from <see cref="IBatonClient.SendEventAsync"/> to the waiting (suspended) run running
/// its next line, one at a time and in a burst. Each event's payload is the <see cref="Stopwatch"/> timestamp taken
/// just before it was sent, so the workflow's line after the wait measures send-to-resume latency.
/// </summary>
internal static class EventBench
{
    public const string Workflow = "bench-event";
    public const string EventName = "go";

    public static async Task<LatencyResult> OneAtATimeAsync(BenchSettings settings, int runs)
    {
        Console.WriteLine($"measuring send-to-resume latency over {runs:N0} waiting runs, one at a time ...");
        var latencies = new ConcurrentBag<double>();
        await using var node = await EngineBench.Node.StartAsync(settings, 1, latencies);
        for (var i = 0; i < runs; i++)
        {
            var started = await node.Client.StartRunAsync(new StartRunRequest { Workflow = Workflow });
            // Two executions per run: the one that suspends at the wait, and the one the event resumes.
            await node.WaitForAsync((2 * i) + 1);
            await node.Client.SendEventAsync(started.Run!.Id, EventName, JsonSerializer.SerializeToElement(Stopwatch.GetTimestamp()));
            await node.WaitForAsync((2 * i) + 2);
        }

        var sorted = latencies.Order().ToArray();
        return new LatencyResult(sorted.Length, EngineBench.Percentile(sorted, 0.5), EngineBench.Percentile(sorted, 0.99));
    }

    public static async Task<EventBurstResult> BurstAsync(BenchSettings settings, int runs)
    {
        Console.WriteLine($"starting {runs:N0} runs that wait for an event, then sending the {runs:N0} events at once ...");
        var latencies = new ConcurrentBag<double>();
        await using var node = await EngineBench.Node.StartAsync(settings, 1, latencies);
        var ids = new string[runs];
        await ForEachCallerAsync(runs, async (client, i) =>
            ids[i] = (await client.StartRunAsync(new StartRunRequest { Workflow = Workflow })).Run!.Id, node);
        await node.WaitForAsync(runs);

        var watch = Stopwatch.StartNew();
        await ForEachCallerAsync(runs, async (client, i) =>
        {
            var sent = await client.SendEventAsync(ids[i], EventName, JsonSerializer.SerializeToElement(Stopwatch.GetTimestamp()));
            if (sent.Outcome != Baton.Events.EventSendOutcome.Stored)
            {
                throw new InvalidOperationException($"send failed: {sent.Outcome} {sent.Error}");
            }
        }, node);
        var sendElapsed = watch.Elapsed;
        await node.WaitForAsync(2 * runs);
        watch.Stop();
        var sorted = latencies.Order().ToArray();
        return new EventBurstResult(runs, sendElapsed, watch.Elapsed, EngineBench.Percentile(sorted, 0.5), EngineBench.Percentile(sorted, 0.99));
    }

    /// <summary>32 callers spread over the nodes, each taking the next index until <paramref name="count"/>.</summary>
    private static Task ForEachCallerAsync(int count, Func<IBatonClient, int, Task> action, EngineBench.Node node)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, 32).Select(async caller =>
        {
            var client = node.ClientOf(caller);
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await action(client, i);
            }
        }));
    }
}
