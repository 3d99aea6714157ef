using System.Diagnostics;
using System.Text.Json;
using Baton.Inbox;

namespace Baton.Bench;

internal sealed record InboxBenchResult(int Messages, int BatchSize, TimeSpan Elapsed)
{
    /// <summary>Messages accepted (their runs stored) per second.</summary>
    public double MessagesPerSecond => Messages / Elapsed.TotalSeconds;
}

/// <summary>
/// Message-driven starts: how many messages per second <see cref="IBatonInbox.AcceptManyAsync"/> stores, in batches of
/// a given size, with 32 concurrent callers (consumers of a transport) on a running node that also executes the runs.
/// The clock stops when the last batch is accepted; the runs are then waited for so the next measurement starts idle.
/// </summary>
internal static class InboxBench
{
    public static async Task<InboxBenchResult> AcceptAsync(BenchSettings settings, int messages, int batchSize)
    {
        Console.WriteLine($"accepting {messages:N0} messages in batches of {batchSize:N0} ...");
        await using var node = await EngineBench.Node.StartAsync(settings, 1, []);
        var batches = (messages + batchSize - 1) / batchSize;
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async caller =>
        {
            var inbox = node.InboxOf(caller);
            int batch;
            while ((batch = Interlocked.Increment(ref next)) < batches)
            {
                var first = batch * batchSize;
                var messagesOfBatch = Enumerable.Range(first, Math.Min(batchSize, messages - first))
                    .Select(i => new InboxMessage
                    {
                        MessageId = $"msg-{i}", Workflow = "bench", Input = JsonSerializer.SerializeToElement(Stopwatch.GetTimestamp()),
                    })
                    .ToList();
                var results = await inbox.AcceptManyAsync(messagesOfBatch);
                if (results.FirstOrDefault(r => r.Outcome != InboxOutcome.Created) is { } failed)
                {
                    throw new InvalidOperationException($"accept failed: {failed.Outcome} {failed.Reason}");
                }
            }
        }));
        watch.Stop();
        await node.WaitForAsync(messages);
        return new InboxBenchResult(messages, batchSize, watch.Elapsed);
    }
}
