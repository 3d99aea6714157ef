using Baton.RabbitMq.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Baton.RabbitMq.Tests.Client;

/// <summary>The client side: timeouts and what a call without a server does.</summary>
public sealed class NestClientTests
{
    [Fact]
    public async Task SendAsync_NoReplyWithinTimeout_ThrowsTimeoutException()
    {
        var queue = RabbitMqBroker.NewQueueName();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // No server consumes the queue: the request waits there and no reply comes.
        await using var host = await NestHost.StartAsync(b => b.AddNestClient("svc", queue), time: time, queues: [queue]);
        await using var raw = await RawAmqp.ConnectAsync();

        var call = host.Client("svc").SendAsync("slow", new { }, TimeSpan.FromSeconds(12));
        await Poll.UntilAsync(() => raw.ReadyCountAsync(queue), n => n == 1, "the request to reach the queue");
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(12));
        var error = await Assert.ThrowsAsync<TimeoutException>(() => call.WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Contains("within 12000 ms", error.Message, StringComparison.Ordinal);
    }
}
