using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Baton.Apps.BrandInsights.Tests.Infrastructure;

/// <summary>
/// A TCP relay between a server process and a test's Redis that can lose replies: once <see cref="LoseRepliesAfter"/> is
/// armed, the first connection that sends the marker has that command relayed to Redis (which carries it out) and every
/// reply from then on dropped, until <see cref="Cut"/> closes the connection. The client sees its call fail; Redis has
/// done it: an outcome the client cannot know.
/// </summary>
internal sealed class ReplyLosingRedisProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private readonly Task _accepting;
    private readonly TaskCompletionSource _triggered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _marker;
    private (TcpClient Client, TcpClient Server)? _silenced;

    public ReplyLosingRedisProxy(int redisPort)
    {
        _port = redisPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The relay as a <c>REDIS_URL</c>.</summary>
    public string Url => $"redis://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Completes once a command with the marker was relayed (its reply and every later one are being dropped).</summary>
    public Task Triggered => _triggered.Task;

    public void LoseRepliesAfter(string marker) => Volatile.Write(ref _marker, Encoding.UTF8.GetBytes(marker));

    /// <summary>Closes the connection whose replies are being dropped.</summary>
    public void Cut()
    {
        if (_silenced is { } silenced)
        {
            silenced.Client.Dispose();
            silenced.Server.Dispose();
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var server = new TcpClient();
            lock (_clients)
            {
                _clients.Add(client);
                _clients.Add(server);
            }

            _ = RelayAsync(client, server);
        }
    }

    private async Task RelayAsync(TcpClient client, TcpClient server)
    {
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _port, _stop.Token);
            var silenced = new StrongBox();
            await Task.WhenAny(
                PumpAsync(client, server, toServer: true, silenced),
                PumpAsync(server, client, toServer: false, silenced));
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // A side went away (or was cut): the relay ends with it.
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(TcpClient fromClient, TcpClient toClient, bool toServer, StrongBox silenced)
    {
        var from = fromClient.GetStream();
        var to = toClient.GetStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return;
            }

            if (toServer && Volatile.Read(ref _marker) is { } marker && buffer.AsSpan(0, read).IndexOf(marker) >= 0
                && Interlocked.CompareExchange(ref _marker, null, marker) == marker)
            {
                silenced.Value = true;
                _silenced = (fromClient, toClient);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                _triggered.TrySetResult();
                continue;
            }

            if (!toServer && silenced.Value)
            {
                continue; // dropped
            }

            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }

        _stop.Dispose();
    }

    private sealed class StrongBox
    {
        public volatile bool Value;
    }
}
