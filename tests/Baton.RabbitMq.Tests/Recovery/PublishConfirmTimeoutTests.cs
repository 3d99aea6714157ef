using Baton.RabbitMq.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Baton.RabbitMq.Tests.Recovery;

/// <summary>
/// A publish whose confirm never comes (RabbitMQ.Client 7.2 can wait for good when the broker goes away under it, its
/// issue #1930) fails at <see cref="RabbitMqOptions.PublishConfirmTimeout"/>. Here the broker withholds the confirm by
/// its memory alarm, on a private node (never the shared one); the timeout runs on a fake clock.
/// </summary>
public sealed class PublishConfirmTimeoutTests
{
    [Fact]
    public async Task EmitAsync_BrokerWithholdsTheConfirm_FailsAsUnavailableAtTheTimeoutAndPublishesAgainOnceTheAlarmClears()
    {
        await using var broker = await PrivateRabbitMq.StartNewAsync();
        var queue = RabbitMqBroker.NewQueueName();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await NestHost.StartAsync(
            b =>
            {
                b.AddNestClient("svc", queue);
                b.Services.Configure<RabbitMqOptions>(o => o.PublishConfirmTimeout = TimeSpan.FromSeconds(3));
            },
            url: broker.Url,
            time: time);
        var client = host.Client("svc");
        await client.EmitAsync("before", 1).WaitAsync(TimeSpan.FromSeconds(30));

        await broker.SetMemoryHighWatermarkAsync("0");
        var blocked = client.EmitAsync("during", 2);
        time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.False(blocked.IsCompleted, "the publish ended before its timeout although the broker withholds confirms");
        time.Advance(TimeSpan.FromSeconds(0.1));
        var error = await Assert.ThrowsAsync<RabbitMqUnavailableException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("did not confirm", error.Message, StringComparison.Ordinal);
        Assert.Contains("3 s", error.Message, StringComparison.Ordinal);

        await broker.SetMemoryHighWatermarkAsync("0.4");
        // The channel is still usable: the next publish is confirmed (the one that timed out may be delivered too).
        await client.EmitAsync("after", 3).WaitAsync(TimeSpan.FromSeconds(30));
    }
}
