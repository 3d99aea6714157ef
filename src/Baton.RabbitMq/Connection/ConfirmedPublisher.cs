using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace Baton.RabbitMq.Connection;

/// <summary>
/// Publishes on one channel with publisher confirms (RabbitMQ.Client tracks them: a publish returns once the broker
/// confirmed it and throws if it was nacked). Publishes from many tasks share the channel; a closed channel (the broker
/// closed it, or the connection is gone for good) is replaced on the next publish. Every publish waits at most
/// <see cref="RabbitMqOptions.PublishConfirmTimeout"/> for its confirm (<see cref="PublishAsync(IChannel, string, BasicProperties, ReadOnlyMemory{byte}, TimeSpan, TimeProvider, CancellationToken)"/>).
/// </summary>
internal sealed class ConfirmedPublisher(IRabbitMqConnection connection, IOptions<RabbitMqOptions> options, TimeProvider time) : IAsyncDisposable
{
    private readonly ChannelSlot _channel = new(connection, (open, cancellationToken) =>
        open.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken));

    private readonly TimeSpan _timeout = options.Value.PublishConfirmTimeout;

    public async Task PublishAsync(string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var channel = await _channel.GetAsync(cancellationToken).ConfigureAwait(false);
        await PublishAsync(channel, routingKey, properties, body, _timeout, time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes to the default exchange on a channel with confirms and waits at most <paramref name="timeout"/> for the
    /// broker's confirm. RabbitMQ.Client 7.2 can leave a publish under way when the connection drops waiting for good
    /// (its issue #1930), and a consumer's handler that waits so holds up the connection's recovery, which first waits
    /// for the handlers to return (the doctor app's BrokerRestartTests hung so in a stress loop, a handler of the in-process
    /// simulator waiting on the confirm of an event it published as the broker went down):
    /// the bound turns that into a <see cref="RabbitMqUnavailableException"/>, which callers already treat as "the broker
    /// is down". A publish that timed out may still have been routed: what is sent this way is at-least-once anyway.
    /// </summary>
    /// <exception cref="RabbitMqUnavailableException">No confirm within <paramref name="timeout"/>.</exception>
    public static async Task PublishAsync(
        IChannel channel, string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            await channel.BasicPublishAsync("", routingKey, mandatory: false, properties, body, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new RabbitMqUnavailableException(
                $"The broker did not confirm the message to {routingKey} within {timeout.TotalSeconds:0.###} s; the connection may be down.", ex);
        }
    }

    public ValueTask DisposeAsync() => _channel.DisposeAsync();
}
