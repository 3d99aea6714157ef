using RabbitMQ.Client;

namespace Baton.RabbitMq.Connection;

internal static class Channels
{
    /// <summary>Closes and disposes a channel whose connection may already be gone (then there is nothing to close).</summary>
    public static async Task CloseQuietlyAsync(IChannel? channel, CancellationToken cancellationToken = default)
    {
        if (channel is null)
        {
            return;
        }

        try
        {
            await channel.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Already closed with its connection.
        }

        channel.Dispose();
    }
}

/// <summary>
/// One channel, opened on first use by <paramref name="open"/> and opened again when it was closed for good (the broker
/// closed it). While the connection is down and recovering (it brings its channels back), asking for the channel
/// fails at once with <see cref="RabbitMqUnavailableException"/> instead of waiting.
/// </summary>
internal sealed class ChannelSlot(IRabbitMqConnection connection, Func<IConnection, CancellationToken, Task<IChannel>> open) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IChannel? _channel;

    public async ValueTask<IChannel> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _channel) is { IsOpen: true } current)
        {
            return current;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_channel is { IsOpen: true } opened)
            {
                return opened;
            }

            var open2 = await connection.GetAsync(cancellationToken).ConfigureAwait(false);
            if (_channel is not null && !open2.IsOpen)
            {
                throw new RabbitMqUnavailableException($"The connection to RabbitMQ is down ({connection.DisplayAddress}); it is being recovered.");
            }

            var created = await open(open2, cancellationToken).ConfigureAwait(false);
            _channel?.Dispose();
            Volatile.Write(ref _channel, created);
            return created;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync() => await Channels.CloseQuietlyAsync(_channel).ConfigureAwait(false);
}
