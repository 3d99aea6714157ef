using System.Net;
using System.Net.Sockets;

namespace Baton.Testing;

/// <summary>
/// A TCP relay on 127.0.0.1 between a client under test and a real server (PostgreSQL, Redis), for tests that lose an
/// answer the server has already acted on. Each accepted connection gets one to the target; every chunk read from either
/// side goes through <see cref="ForwardAsync"/>, which writes it on, drops it, or ends the connection.
/// </summary>
public abstract class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private readonly Task _accepting;

    protected TcpRelay(string host, int port)
    {
        _host = host;
        _port = port;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port the relay listens on.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>
    /// Handles <paramref name="chunk"/> read from the client (<paramref name="toServer"/>) or the server: writes it to
    /// <paramref name="to"/> or not. False ends the connection (both sides closed).
    /// </summary>
    protected abstract ValueTask<bool> ForwardAsync(RelayedConnection connection, bool toServer, ReadOnlyMemory<byte> chunk, NetworkStream to, CancellationToken cancellationToken);

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

            _ = RelayAsync(new RelayedConnection(client, server));
        }
    }

    private async Task RelayAsync(RelayedConnection connection)
    {
        try
        {
            await connection.Server.ConnectAsync(_host, _port, _stop.Token);
            await Task.WhenAny(PumpAsync(connection, toServer: true), PumpAsync(connection, toServer: false));
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // A side went away (or was cut): the relay ends with it.
        }
        finally
        {
            connection.Client.Dispose();
            connection.Server.Dispose();
        }
    }

    private async Task PumpAsync(RelayedConnection connection, bool toServer)
    {
        var from = (toServer ? connection.Client : connection.Server).GetStream();
        var to = (toServer ? connection.Server : connection.Client).GetStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0 || !await ForwardAsync(connection, toServer, buffer.AsMemory(0, read), to, _stop.Token))
            {
                return;
            }
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
        GC.SuppressFinalize(this);
    }
}

/// <summary>One relayed connection: the client's side, the server's side, and whether a test's trigger has fired on it.</summary>
public sealed class RelayedConnection(TcpClient client, TcpClient server)
{
    private volatile bool _triggered;

    public TcpClient Client { get; } = client;

    public TcpClient Server { get; } = server;

    public bool Triggered
    {
        get => _triggered;
        set => _triggered = value;
    }
}
