using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Baton.Storage.Postgres.Internal;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// A TCP relay between a store and the test's PostgreSQL that can lose one answer: once <see cref="CutAfterCommit"/> is
/// armed, the first connection that sends the marker (a run id in a statement's parameters) has its traffic relayed
/// until the server ends a transaction (ReadyForQuery with status idle: the commit is done), and that answer is dropped
/// with the connection. The client sees its connection break; the server has committed: an outcome the client cannot
/// know. TLS is off on the relayed connections so the marker can be seen.
/// </summary>
internal sealed class AnswerLosingProxy : IAsyncDisposable
{
    // ReadyForQuery, length 5, transaction status 'I' (idle): what the server sends last after a commit.
    private static readonly byte[] Committed = [(byte)'Z', 0, 0, 0, 5, (byte)'I'];

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private readonly Task _accepting;
    private byte[]? _marker;

    public AnswerLosingProxy(string connectionString)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        _host = target.Host ?? "127.0.0.1";
        _port = target.Port;
        _listener.Start();
        ConnectionString = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Host = "127.0.0.1",
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
            SslMode = SslMode.Disable,
        }.ConnectionString;
        _accepting = AcceptAsync();
    }

    /// <summary>The target's connection string with the relay as its server.</summary>
    public string ConnectionString { get; }

    /// <summary>An initialized store in <paramref name="schema"/> whose connections go through this relay.</summary>
    public async Task<PostgresBatonStore> NewStoreAsync(string schema)
    {
        var store = new PostgresBatonStore(
            new PostgresStoreOptions
            {
                ConnectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 8 }.ConnectionString,
                Schema = schema,
            },
            TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await store.InitializeAsync();
        return store;
    }

    /// <summary>Completes once an answer has been dropped.</summary>
    public TaskCompletionSource Cut { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Drops the commit answer of the first connection to send <paramref name="marker"/> from now on.</summary>
    public void CutAfterCommit(string marker) => Volatile.Write(ref _marker, Encoding.UTF8.GetBytes(marker));

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
            await server.ConnectAsync(_host, _port, _stop.Token);
            var triggered = new StrongBox<bool>(false);
            await Task.WhenAny(
                PumpAsync(client.GetStream(), server.GetStream(), toServer: true, triggered),
                PumpAsync(server.GetStream(), client.GetStream(), toServer: false, triggered));
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A side went away: the relay ends with it.
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool toServer, StrongBox<bool> triggered)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return;
            }

            var chunk = buffer.AsSpan(0, read);
            if (toServer && Volatile.Read(ref _marker) is { } marker && chunk.IndexOf(marker) >= 0
                && Interlocked.CompareExchange(ref _marker, null, marker) == marker)
            {
                triggered.Value = true;
            }

            if (!toServer && triggered.Value && chunk.EndsWith(Committed))
            {
                // The server has committed; its answer is dropped with the connection.
                Cut.TrySetResult();
                return;
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
}
