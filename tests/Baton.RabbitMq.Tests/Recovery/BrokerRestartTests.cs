using System.Text.Json;
using Baton.RabbitMq.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Baton.RabbitMq.Tests.Recovery;

/// <summary>A broker restart on a private RabbitMQ node (never the shared one): servers and clients come back by themselves.</summary>
public sealed class BrokerRestartTests
{
    [Fact]
    public async Task BrokerRestart_ServerAndClientRecover_RequestsAnsweredAgainAndOutageLoggedOnce()
    {
        await using var broker = await PrivateRabbitMq.StartNewAsync();
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await EchoHostAsync(queue, broker.Url);
        var client = host.Client("svc");
        Assert.Equal(1, (await client.SendAsync("echo", 1, TimeSpan.FromSeconds(10)))!.Value.GetInt32());

        await broker.StopAsync();
        var during = await Record.ExceptionAsync(() => client.SendAsync("echo", 2, TimeSpan.FromSeconds(2)));
        await broker.StartAsync();

        Assert.NotNull(during);
        // Automatic recovery reconnects within its interval (1 s); calls fail fast until the channel is back.
        var answered = await Poll.UntilAsync(
            async () =>
            {
                try
                {
                    return (await client.SendAsync("echo", 3, TimeSpan.FromSeconds(2)))?.GetInt32();
                }
                catch (Exception ex) when (ex is RabbitMqUnavailableException or TimeoutException or RabbitMQ.Client.Exceptions.AlreadyClosedException)
                {
                    return null;
                }
            },
            value => value == 3,
            "a request after the broker restart",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(200));
        Assert.Equal(3, answered);
        Assert.Single(host.Logs.Entries, e => e.Message.Contains("connection to", StringComparison.Ordinal) && e.Message.Contains("lost", StringComparison.Ordinal));
        // The client library raises "recovery succeeded" after it has recovered the channels, so a request can be
        // answered before the line is logged: wait for it, then check it came once.
        await Poll.UntilAsync(() => Task.FromResult(host.Logs.Entries.Any(e => e.Message.Contains("recovered", StringComparison.Ordinal))), seen => seen, "the recovery to be logged");
        Assert.Single(host.Logs.Entries, e => e.Message.Contains("recovered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BrokerRestartMidLoad_EveryCallAnsweredCorrectlyOrFailedClearly_AndServingResumes()
    {
        await using var broker = await PrivateRabbitMq.StartNewAsync();
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await EchoHostAsync(queue, broker.Url);
        var client = host.Client("svc");
        var answered = 0;
        var failedClearly = 0;
        var unexpected = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var callers = Enumerable.Range(0, 8).Select(caller => Task.Run(async () =>
        {
            for (var call = 0; !stop.IsCancellationRequested; call++)
            {
                var value = (caller * 1_000_000) + call;
                try
                {
                    var reply = await client.SendAsync("echo", value, TimeSpan.FromSeconds(3));
                    if (reply?.GetInt32() != value)
                    {
                        unexpected.Enqueue($"call {value} got {reply}");
                    }

                    Interlocked.Increment(ref answered);
                }
                catch (Exception ex) when (ex is TimeoutException or RabbitMqUnavailableException)
                {
                    Interlocked.Increment(ref failedClearly);
                    // A caller whose broker is gone backs off as a real one would, instead of spinning.
                    await Task.Delay(50);
                }
                catch (Exception ex)
                {
                    unexpected.Enqueue($"call {value}: {ex.GetType().Name}: {ex.Message}");
                }
            }
        })).ToList();

        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref answered)), n => n >= 300, "300 answers before the restart");
        await broker.StopAsync();
        await broker.StartAsync();
        var afterRestart = Volatile.Read(ref answered);
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref answered)), n => n >= afterRestart + 300, "300 answers after the restart", TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Empty(unexpected);
        Assert.True(failedClearly > 0, "the restart failed no call: it did not happen under load");
    }

    [Fact]
    public async Task ChannelClosedByBroker_ServerOpensNewChannel_AndKeepsServing()
    {
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await EchoHostAsync(queue, RabbitMqBroker.Url, deleteQueue: true);
        var server = host.Services.GetRequiredKeyedService<Baton.RabbitMq.Server.NestServer>(queue);
        var broken = server.Channel!;

        // Acknowledging a delivery tag the channel never had is a channel error: the broker closes the channel.
        await broken.BasicAckAsync(999_999, false);
        await Poll.UntilAsync(() => Task.FromResult(broken.IsClosed), closed => closed, "the broker to close the channel");
        var reply = await EchoedAsync(host, 7, "a reply from the new channel");

        Assert.Equal(7, reply);
        Assert.NotSame(broken, server.Channel);
    }

    [Fact]
    public async Task QueueDeleted_ServerDeclaresItAgainAndKeepsServing()
    {
        // The broker cancels the consumer of a deleted queue and leaves the channel open. Before: nothing noticed, and the
        // server served nothing (and logged nothing) until the connection next dropped.
        var queue = RabbitMqBroker.NewQueueName();
        await using var host = await EchoHostAsync(queue, RabbitMqBroker.Url, deleteQueue: true);
        var server = host.Services.GetRequiredKeyedService<Baton.RabbitMq.Server.NestServer>(queue);
        var first = server.Channel!;

        await NestHost.DeleteQueuesAsync(RabbitMqBroker.Url, [queue]);
        var reply = await EchoedAsync(host, 9, "a reply after the queue was deleted");

        Assert.Equal(9, reply);
        Assert.NotSame(first, server.Channel);
        Assert.Contains(host.Logs.Entries, e => e.Message.Contains("the broker cancelled the consumer", StringComparison.Ordinal));
    }

    // Sends "echo" until the answer is the value sent (a request the server cannot take yet times out after 2 s).
    private static Task<int?> EchoedAsync(NestHost host, int value, string what) => Poll.UntilAsync(
        async () =>
        {
            try
            {
                return (await host.Client("svc").SendAsync("echo", value, TimeSpan.FromSeconds(2)))?.GetInt32();
            }
            catch (TimeoutException)
            {
                return null;
            }
        },
        answer => answer == value,
        what);

    // A client "svc" and a server on the queue whose "echo" pattern answers with the request's data.
    private static Task<NestHost> EchoHostAsync(string queue, string url, bool deleteQueue = false) =>
        NestHost.StartAsync(
            b => b.AddNestClient("svc", queue)
                .AddNestServer(queue)
                .AddNestPattern("echo", (request, _) => Task.FromResult<JsonElement?>(request.Data)),
            url: url,
            queues: deleteQueue ? [queue] : []);
}
