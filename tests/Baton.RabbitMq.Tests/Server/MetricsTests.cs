using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Baton.RabbitMq.Tests.Support;

namespace Baton.RabbitMq.Tests.Server;

/// <summary>The transport's metrics on the meter Baton.RabbitMq.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_RequestAnsweredAndUnknownPattern_CountedByQueueAndOutcome()
    {
        var queue = RabbitMqBroker.NewQueueName();
        var measured = new ConcurrentQueue<(string Instrument, string? Queue, string? Outcome)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Baton.RabbitMq")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            string? tagQueue = null, outcome = null;
            foreach (var tag in tags)
            {
                tagQueue = tag.Key == "queue" ? tag.Value as string : tagQueue;
                outcome = tag.Key == "outcome" ? tag.Value as string : outcome;
            }

            measured.Enqueue((instrument.Name, tagQueue, outcome));
        });
        listener.Start();
        await using var host = await NestHost.StartAsync(
            b => b.AddNestClient("svc", queue)
                .AddNestServer(queue)
                .AddNestPattern("ping", (_, _) => Task.FromResult<JsonElement?>(JsonSerializer.SerializeToElement("pong"))),
            queues: [queue]);

        await host.Client("svc").SendAsync("ping", null, TimeSpan.FromSeconds(20));
        await Assert.ThrowsAsync<NestRpcException>(() => host.Client("svc").SendAsync("nope", null, TimeSpan.FromSeconds(20)));
        await Poll.UntilAsync(() => Task.FromResult(measured.Count(m => m.Instrument == "baton.rabbitmq.server.messages" && m.Queue == queue)), n => n == 2, "both server messages counted");

        Assert.Contains(("baton.rabbitmq.server.messages", queue, "replied"), measured);
        Assert.Contains(("baton.rabbitmq.server.messages", queue, "no_handler"), measured);
        Assert.Contains(("baton.rabbitmq.client.calls", queue, "ok"), measured);
        Assert.Contains(("baton.rabbitmq.client.calls", queue, "error"), measured);
    }
}
