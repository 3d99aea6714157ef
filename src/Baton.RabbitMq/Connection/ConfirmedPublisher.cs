using RabbitMQ.Client;

namespace Baton.RabbitMq.Connection;

/// <summary>
/// Publishes on one channel with publisher confirms (RabbitMQ.Client tracks them: a publish returns once the broker
/// confirmed it and throws if it was nacked). Publishes from many tasks share the channel; a closed channel (the broker
/// closed it, or the connection is gone for good) is replaced on the next publish.
/// </summary>
internal sealed class ConfirmedPublisher(IRabbitMqConnection connection) : IAsyncDisposable
{
    private readonly ChannelSlot _channel = new(connection, (open, cancellationToken) =>
        open.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken));

    public async Task PublishAsync(string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var channel = await _channel.GetAsync(cancellationToken).ConfigureAwait(false);
        await channel.BasicPublishAsync("", routingKey, mandatory: false, properties, body, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _channel.DisposeAsync();
}
