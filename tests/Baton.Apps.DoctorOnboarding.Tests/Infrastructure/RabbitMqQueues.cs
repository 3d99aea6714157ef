using RabbitMQ.Client;

namespace Baton.Apps.DoctorOnboarding.Tests.Infrastructure;

/// <summary>Raw AMQP for what a NestJS client never sends (a non-JSON or oversized body), and queue clean-up.</summary>
internal static class RabbitMqQueues
{
    public static async Task DeleteAsync(string url, params string[] queues)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(url) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var queue in queues)
        {
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
        }
    }

    /// <summary>Publishes <paramref name="body"/> to <paramref name="queue"/> with a reply queue of its own and returns the reply's body (or null after <paramref name="timeout"/>).</summary>
    public static async Task<string?> RequestRawAsync(string url, string queue, byte[] body, string correlationId, TimeSpan timeout)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(url) }.CreateConnectionAsync();
        await WaitForConsumerAsync(connection, queue, timeout);
        await using var channel = await connection.CreateChannelAsync();
        var replyQueue = (await channel.QueueDeclareAsync(queue: "", durable: false, exclusive: true, autoDelete: true)).QueueName;
        var reply = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new RabbitMQ.Client.Events.AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            reply.TrySetResult(System.Text.Encoding.UTF8.GetString(delivery.Body.Span));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(replyQueue, autoAck: true, consumer);
        await channel.BasicPublishAsync("", queue, mandatory: false, new BasicProperties { ReplyTo = replyQueue, CorrelationId = correlationId }, body);
        try
        {
            return await reply.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until <paramref name="queue"/> has a consumer. A message published to the default exchange before the
    /// orchestrator has declared its queue is dropped (a NestJS client declares the queue first, so its message waits); the
    /// orchestrator declares it as it starts consuming, which may follow the host's start (CI 2026-12-06: the first of two
    /// requests got no reply in 30 s, the second at once).
    /// </summary>
    private static async Task WaitForConsumerAsync(IConnection connection, string queue, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                if ((await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount > 0)
                {
                    return;
                }
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException) when (DateTime.UtcNow < deadline)
            {
                // Not declared yet (404 closes the channel).
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"no consumer on queue {queue} within {timeout.TotalSeconds} s");
            }

            await Task.Delay(20);
        }
    }
}
