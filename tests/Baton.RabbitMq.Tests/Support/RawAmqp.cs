using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Baton.RabbitMq.Tests.Support;

/// <summary>
/// A bare AMQP peer for wire-level tests: publishes any bytes with any properties and collects what arrives on a reply
/// queue of its own (exclusive, auto-deleted), so a test sees exactly what a server sent.
/// </summary>
internal sealed class RawAmqp : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly ConcurrentQueue<(BasicDeliverEventArgs Delivery, byte[] Body)> _received = new();

    private RawAmqp(IConnection connection, IChannel channel, string replyQueue)
    {
        _connection = connection;
        _channel = channel;
        ReplyQueue = replyQueue;
    }

    public string ReplyQueue { get; }

    public static async Task<RawAmqp> ConnectAsync(string? url = null)
    {
        IConnection connection;
        try
        {
            connection = await new ConnectionFactory { Uri = new Uri(url ?? RabbitMqBroker.Url) }.CreateConnectionAsync();
        }
        catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException ex)
        {
            throw new InvalidOperationException(RabbitMqBroker.Unreachable(ex.Message), ex);
        }

        var channel = await connection.CreateChannelAsync();
        var declared = await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true);
        var raw = new RawAmqp(connection, channel, declared.QueueName);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            raw._received.Enqueue((delivery, delivery.Body.ToArray()));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(declared.QueueName, autoAck: true, consumer);
        return raw;
    }

    public async Task PublishAsync(string queue, byte[] body, string? correlationId, bool replyToMe = true)
    {
        var properties = new BasicProperties { CorrelationId = correlationId, ReplyTo = replyToMe ? ReplyQueue : null };
        await _channel.BasicPublishAsync("", queue, mandatory: false, properties, body);
    }

    public Task PublishJsonAsync(string queue, string json, string? correlationId) => PublishAsync(queue, Encoding.UTF8.GetBytes(json), correlationId);

    /// <summary>Waits for the reply with <paramref name="correlationId"/> and returns its body as JSON.</summary>
    public async Task<JsonElement> ReplyAsync(string correlationId)
    {
        var reply = await Poll.UntilAsync(
            () => Task.FromResult(_received.FirstOrDefault(r => r.Delivery.BasicProperties.CorrelationId == correlationId)),
            r => r.Body is not null,
            $"the reply {correlationId}",
            TimeSpan.FromSeconds(20),
            TimeSpan.FromMilliseconds(10));
        return JsonDocument.Parse(reply.Body).RootElement.Clone();
    }

    /// <summary>How many messages are ready in <paramref name="queue"/> (not delivered to a consumer); 0 while it does not exist.</summary>
    public async Task<uint> ReadyCountAsync(string queue)
    {
        // A channel of its own: a passive declaration of a missing queue closes the channel.
        await using var channel = await _connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _channel.CloseAsync();
        await _connection.CloseAsync();
        _channel.Dispose();
        _connection.Dispose();
    }
}
