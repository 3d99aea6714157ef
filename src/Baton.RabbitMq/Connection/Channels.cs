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
