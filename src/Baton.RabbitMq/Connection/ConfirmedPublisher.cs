using RabbitMQ.Client;

namespace Baton.RabbitMq.Connection;

/// <summary>
/// Publishes on one channel with publisher confirms (RabbitMQ.Client tracks them: a publish returns once the broker
/// confirmed it and throws if it was nacked). Publishes from many tasks share the channel; a closed channel (the broker
/// closed it, or the connection is gone for good) is replaced on the next publish.
/// </summary>
internal sealed class ConfirmedPublisher(IRabbitMqConnection connection) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IChannel? _channel;

    public async Task PublishAsync(string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var channel = await ChannelAsync(cancellationToken).ConfigureAwait(false);
        await channel.BasicPublishAsync("", routingKey, mandatory: false, properties, body, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _channel) is { IsOpen: true } open)
        {
            return open;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_channel is { IsOpen: true } current)
            {
                return current;
            }

            var old = _channel;
            var created = await (await connection.GetAsync(cancellationToken).ConfigureAwait(false))
                .CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken)
                .ConfigureAwait(false);
            Volatile.Write(ref _channel, created);
            old?.Dispose();
            return created;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } channel)
        {
            try
            {
                await channel.CloseAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The connection is already gone.
            }

            channel.Dispose();
        }
    }
}
