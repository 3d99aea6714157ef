using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Baton.Hosting;
using Baton.RabbitMq.Tests.Support;
using Baton.Runs;
using Baton.Storage.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Baton.RabbitMq.Tests;

/// <summary>
/// Poison messages and reply correlation of the Nest server on the real broker (found by a review of the transports): a
/// message that can never be answered as sent is answered once as bad, or without a correlation id, never requeued for ever.
/// </summary>
public sealed class NestPoisonMessageTests
{
    private const int DeliveryLostEvent = 4106;

    private static int Count(NestHost host, int eventId) => host.Logs.Entries.Count(e => e.EventId == eventId);

    /// <summary>
    /// A body whose id or pattern holds a JSON-escaped lone surrogate (valid JSON, valid UTF-8 bytes) makes
    /// JsonElement.GetString() throw InvalidOperationException, which NestWire.Parse does not catch: the delivery is
    /// requeued every second, for ever, and the caller never gets an answer.
    /// </summary>
    [Theory]
    [InlineData("""{"pattern":"ping","data":{},"id":"\ud800"}""", "id is not valid text (it holds half a UTF-16 surrogate pair).")]
    [InlineData("""{"pattern":"ping\ud800","data":{},"id":"r3-1"}""", "pattern is not valid text (it holds half a UTF-16 surrogate pair).")]
    [InlineData("""{"id":"\ud800"}""", "The message has no pattern")]
    public async Task LoneSurrogateEscapeInIdOrPattern_AnsweredOnceAsBadNotRequeued(string body, string error)
    {
        var queue = RabbitMqBroker.NewQueueName("poison");
        await using var host = await StartPingHostAsync(queue);
        await using var peer = await Peer.ConnectAsync();

        await peer.PublishAsync(queue, Encoding.UTF8.GetBytes(body), correlationId: "c-sur");

        // Either the server answers (what it should do), or it shows it is looping (DeliveryLost twice).
        await Poll.UntilAsync(
            () => Task.FromResult(peer.Received.Any(r => r.CorrelationId == "c-sur") || Count(host, DeliveryLostEvent) >= 2),
            done => done, "a reply or a redelivery loop", TimeSpan.FromSeconds(20));

        Assert.True(Count(host, DeliveryLostEvent) == 0, "the message was requeued instead of answered:\n" + host.Logs.AllText());
        var reply = Assert.Single(peer.Received, r => r.CorrelationId == "c-sur");
        Assert.Contains(error, reply.Body, StringComparison.Ordinal);
    }

    /// <summary>
    /// A request with no correlationId property gets the body's id as the reply's correlation id; an id of at most
    /// 200 characters but more than 255 UTF-8 bytes does not fit an AMQP short string, the reply's publish throws, and
    /// the request is requeued for ever (handler pattern). NestJS replies with the request's correlationId property
    /// (none), so the reply would simply carry no correlation id.
    /// </summary>
    [Fact]
    public async Task IdOver255Utf8BytesWithoutCorrelationProperty_HandlerRepliesWithoutOneNotRequeued()
    {
        var queue = RabbitMqBroker.NewQueueName("poison");
        await using var host = await StartPingHostAsync(queue);
        await using var peer = await Peer.ConnectAsync();
        var id = new string('€', 100); // 100 characters, 300 UTF-8 bytes
        var body = JsonSerializer.SerializeToUtf8Bytes(new { pattern = "ping", data = new { }, id });

        await peer.PublishAsync(queue, body, correlationId: null);

        await Poll.UntilAsync(
            () => Task.FromResult(peer.Received.Any(r => r.Id == id) || Count(host, DeliveryLostEvent) >= 2),
            done => done, "a reply or a redelivery loop", TimeSpan.FromSeconds(20));

        Assert.True(Count(host, DeliveryLostEvent) == 0, "the request was requeued instead of answered:\n" + host.Logs.AllText());
        var reply = Assert.Single(peer.Received, r => r.Id == id);
        Assert.Null(reply.CorrelationId);
        Assert.Contains("\"response\":\"pong\"", reply.Body, StringComparison.Ordinal);
    }

    /// <summary>
    /// The same id on a run-starting pattern: the run is stored and acknowledged, but its reply can never be published
    /// (the reply watcher retries every poll interval for ever, logging ReplyCheckFailed), so the caller never hears back.
    /// </summary>
    [Fact]
    public async Task IdOver255Utf8BytesWithoutCorrelationProperty_RunReplyIsSent()
    {
        var queue = RabbitMqBroker.NewQueueName("poison");
        await using var host = await StartEchoRunHostAsync(queue);
        await using var peer = await Peer.ConnectAsync();
        var id = new string('€', 100);
        var body = JsonSerializer.SerializeToUtf8Bytes(new { pattern = "echo.run", data = new { x = 1 }, id });

        await peer.PublishAsync(queue, body, correlationId: null);

        var client = host.Services.GetRequiredService<IBatonClient>();
        await Poll.UntilAsync(
            async () => (await client.ListRunsAsync(new ListRunsRequest { Workflow = "poison-echo" })).Runs,
            runs => runs.Count == 1 && runs[0].Status == RunStatus.Succeeded, "the run to succeed", TimeSpan.FromSeconds(20));
        try
        {
            await Poll.UntilAsync(() => Task.FromResult(peer.Received.Any(r => r.Id == id)), got => got, "the run's reply", TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            Assert.Fail("no reply for the succeeded run; logs:\n" + string.Join('\n', host.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning)));
        }
    }

    /// <summary>
    /// A run-starting request whose id the inbox rejects (over 200 characters) and that has no correlationId property:
    /// the rejection's error reply cannot be published (correlation id = the 400-byte body id), so the request is
    /// requeued and rejected again, for ever, instead of being answered and acknowledged once.
    /// </summary>
    [Fact]
    public async Task RejectedRunRequestWithLongIdWithoutCorrelationProperty_AnsweredNotRequeued()
    {
        var queue = RabbitMqBroker.NewQueueName("poison");
        await using var host = await StartEchoRunHostAsync(queue);
        await using var peer = await Peer.ConnectAsync();
        var id = new string('é', 201); // over the inbox's 200 characters, 402 UTF-8 bytes

        await peer.PublishAsync(queue, JsonSerializer.SerializeToUtf8Bytes(new { pattern = "echo.run", data = new { x = 1 }, id }), correlationId: null);

        await Poll.UntilAsync(
            () => Task.FromResult(peer.Received.Any(r => r.Id == id) || Count(host, DeliveryLostEvent) >= 2),
            done => done, "a reply or a redelivery loop", TimeSpan.FromSeconds(20));
        Assert.True(Count(host, DeliveryLostEvent) == 0,
            "the rejected request was requeued instead of answered:\n" + string.Join('\n', host.Logs.Entries.Where(e => e.EventId == DeliveryLostEvent)));
    }

    /// <summary>
    /// Before, the reply above could never be published: the run stayed in RunReplies' pending set with its reply "due", so
    /// a graceful stop waited out the whole DrainTimeout (here 20 s) although nothing was executing.
    /// </summary>
    [Fact]
    public async Task RunReplyWithLongIdWithoutCorrelationProperty_GracefulStopDoesNotWaitOutTheDrainTimeout()
    {
        var queue = RabbitMqBroker.NewQueueName("poison");
        await using var host = await StartEchoRunHostAsync(queue, drainTimeout: TimeSpan.FromSeconds(20));
        await using var peer = await Peer.ConnectAsync();
        var id = new string('€', 100);
        await peer.PublishAsync(queue, JsonSerializer.SerializeToUtf8Bytes(new { pattern = "echo.run", data = new { x = 1 }, id }), correlationId: null);
        await Poll.UntilAsync(() => Task.FromResult(peer.Received.Any(r => r.Id == id)), f => f, "the run's reply", TimeSpan.FromSeconds(20));

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await host.StopAsync();

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"the stop took {stopping.Elapsed.TotalSeconds:0.0} s with nothing executing");
    }

    /// <summary>A server answering the request pattern <c>ping</c> with <c>"pong"</c>.</summary>
    private static Task<NestHost> StartPingHostAsync(string queue) => NestHost.StartAsync(
        b => b.AddNestServer(queue).AddNestPattern("ping", (_, _) => Task.FromResult<JsonElement?>(JsonSerializer.SerializeToElement("pong"))),
        queues: [queue]);

    /// <summary>A server whose pattern <c>echo.run</c> starts a run of <c>poison-echo</c>, which returns <c>"done"</c>.</summary>
    private static Task<NestHost> StartEchoRunHostAsync(string queue, TimeSpan? drainTimeout = null) => NestHost.StartAsync(
        b => b.AddWorkflow<JsonElement, string>("poison-echo", (_, _, _) => Task.FromResult("done"))
            .AddNestServer(queue)
            .AddNestPattern("echo.run", "poison-echo", r => r.Data),
        queues: [queue],
        engine: drainTimeout is { } drain ? o => o.DrainTimeout = drain : null);

    /// <summary>A bare AMQP peer that collects every reply on its own queue, with or without a correlation id.</summary>
    private sealed class Peer : IAsyncDisposable
    {
        private readonly IConnection _connection;
        private readonly IChannel _channel;
        private readonly string _replyQueue;

        private Peer(IConnection connection, IChannel channel, string replyQueue)
        {
            _connection = connection;
            _channel = channel;
            _replyQueue = replyQueue;
        }

        public ConcurrentBag<(string? CorrelationId, string? Id, string Body)> Received { get; } = [];

        public static async Task<Peer> ConnectAsync()
        {
            var connection = await new ConnectionFactory { Uri = new Uri(RabbitMqBroker.Url) }.CreateConnectionAsync();
            var channel = await connection.CreateChannelAsync();
            var declared = await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true);
            var peer = new Peer(connection, channel, declared.QueueName);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) =>
            {
                var text = Encoding.UTF8.GetString(delivery.Body.Span);
                string? id = null;
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    id = doc.RootElement.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
                }
                catch (Exception)
                {
                    // keep the raw body
                }

                peer.Received.Add((delivery.BasicProperties.CorrelationId, id, text));
                return Task.CompletedTask;
            };
            await channel.BasicConsumeAsync(declared.QueueName, autoAck: true, consumer);
            return peer;
        }

        public async Task PublishAsync(string queue, byte[] body, string? correlationId)
        {
            var properties = new BasicProperties { CorrelationId = correlationId, ReplyTo = _replyQueue };
            await _channel.BasicPublishAsync("", queue, mandatory: false, properties, body);
        }

        public async ValueTask DisposeAsync()
        {
            await _channel.CloseAsync();
            await _connection.CloseAsync();
            _channel.Dispose();
            _connection.Dispose();
        }
    }
}
