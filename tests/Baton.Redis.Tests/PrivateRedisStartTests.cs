using System.Net;
using System.Net.Sockets;
using Baton.Testing;
using StackExchange.Redis;

namespace Baton.Redis.Tests;

/// <summary>
/// The test helper's start (<see cref="PrivateRedis"/>): its port comes from the ephemeral range, so another process can
/// take it between the choice and the bind. Here the test holds the port itself, as a listener, so the bind is refused.
/// </summary>
public sealed class PrivateRedisStartTests
{
    // Before: redis-server exited with "bind: Address already in use" and the start failed ("redis-server exited with 1"),
    // failing whatever test needed the private Redis.
    [Fact]
    public async Task StartAsync_FirstPortTakenBeforeTheBind_StartsOnANewPortAndAnswersPing()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var taken = ((IPEndPoint)holder.LocalEndpoint).Port;
        var chosen = new List<int>();

        await using var redis = await PrivateRedis.StartAsync(choosePort: () =>
        {
            chosen.Add(chosen.Count == 0 ? taken : Ports.Free());
            return chosen[^1];
        });

        Assert.Equal([taken, redis.Port], chosen);
        Assert.NotEqual(taken, redis.Port);
        Assert.True(redis.IsRunning);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        Assert.Equal("PONG", (string?)await connection.GetDatabase().ExecuteAsync("PING"));
    }

    // Before: the first refusal was thrown as a plain InvalidOperationException, and the refused server's temp directory
    // stayed behind (the helper was never returned, so nobody disposed it).
    [Fact]
    public async Task StartAsync_EveryChosenPortTaken_ThrowsAfterThreeStartsNamingEachPort()
    {
        var holders = Enumerable.Range(0, PortInUse.Attempts).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            holders.ForEach(h => h.Start());
            var taken = holders.Select(h => ((IPEndPoint)h.LocalEndpoint).Port).ToList();
            var next = 0;

            var error = await Assert.ThrowsAsync<PortInUseException>(() => PrivateRedis.StartAsync(choosePort: () => taken[next++]));

            Assert.Equal(taken, error.PortsTried);
            Assert.All(taken, port => Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal));
            Assert.Contains("Address already in use", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            holders.ForEach(h => h.Dispose());
        }
    }
}
